// The fairness report: computed from measured nanoseconds (RunRecord and
// the scheduler's accounting), printed as a table and written as JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/ReportMeta.h"
#include "loop/RunLoop.h"
#include "sched/Fairness.h"

namespace quanta {

struct VmReport {
	std::string name;
	std::string status;
	std::string diagnosis;
	std::uint64_t weight;
	double targetShare;
	double achievedShare;
	double errorPp;
	// Why this VM is left out of the fairness figures (empty: included);
	// its errorPp is then meaningless and not reported.
	std::string fairnessExcluded;
	Nanos ranNs;
	Nanos waitingNs;
	Nanos parkedNs;
	Nanos hostStealNs; // waiting for a host CPU during its slices: not charged
	std::uint64_t slices;
	double maxLagQuanta;
	ExitStats exits;
	std::uint64_t workWrites;   // counter writes to ports 0x10/0x11
	std::uint32_t workLast;     // last counter value written
	std::uint64_t workReported; // units reported with the work hypercall
	// A Solo5 hvt guest's network devices (none for other guests).
	struct NetRow {
		std::string device;
		std::uint64_t framesSent, framesReceived, framesDropped;
		std::uint64_t bytesSent, bytesReceived;
	};
	std::vector<NetRow> nets;
};

// Slices against their budget (app/ReportExits.h counts them).
struct SliceOverrun {
	std::uint64_t timedSlices = 0; // slices that had a timer (a budget)
	std::uint64_t overBudget = 0;  // of those, longer than kOverrunFactor x budget
	double p90LengthQuanta = 0.0;  // p90 of slice length / budget
};

struct RunReport {
	std::string policy;
	Nanos quantumNs;
	Nanos wallNs;
	Nanos guestNs;                  // sum of time inside KVM_RUN
	Nanos idleNs;                   // nothing runnable
	Nanos overheadNs;               // wall - guest - idle: the hypervisor's own time (and host steal)
	Nanos hostStealNs = 0;          // sum of the VMs' host steal
	bool hostStealMeasured = false; // run_delay was readable
	std::string hostScheduling;     // how quanta's thread was scheduled (--realtime), if asked
	double overheadPct;
	std::optional<double> jain; // none: fairness left out (see fairnessNote)
	std::string fairnessNote;   // what the fairness figures cover and why
	double maxLagQuanta;
	sched::LatencySummary kickLatency;
	sched::LatencySummary switchLatency;
	int stopSignal;
	bool durationReached;
	bool deadlock;
	bool stdoutClosed;                // the run ended because stdout could not be written
	std::uint64_t stdoutDroppedBytes; // guest output that never reached stdout
	struct ChannelRow {
		std::string name, from, to;
		std::uint32_t slots, used;
		std::uint64_t sent, received;
	};
	std::vector<ChannelRow> channels;
	std::vector<VmReport> vms;
	// Reasons to distrust the figures: a code ("kick_latency",
	// "slice_overrun", "short_run", "halted_early", "loaded_host",
	// "host_steal") and a
	// sentence for the reader.
	struct Warning {
		std::string code;
		std::string message;
	};
	std::vector<Warning> warnings;
	std::optional<SliceOverrun> sliceOverrun;
	nlohmann::json exitTable;  // exitTableJson (ReportExits.h), or null
	std::string exitTableText; // formatExitTable, shown with --report-exits
};

// Noise thresholds (see addNoiseWarnings).
inline constexpr double kKickP99MaxQuantumFrac = 0.10; // kick latency p99 vs quantum
inline constexpr double kMinWindowQuanta = 20;         // shares need this many quanta
inline constexpr double kHaltedEarlyLifeFrac = 0.9;    // stopped before 90% of the run
inline constexpr double kLoadedPerCpu = 0.5;           // load average before / online CPUs
inline constexpr double kOverrunFactor = 1.5;          // a slice this many budgets long overran
inline constexpr double kOverrunMaxFrac = 0.10;        // slices over kOverrunFactor budgets
inline constexpr double kHostStealMaxFrac = 0.01;      // host steal vs busy time

RunReport buildReport(const RunRecord &record, const sched::Scheduler &scheduler,
		      const std::vector<std::unique_ptr<Machine>> &machines, const ChannelHub *channels);

// Which VMs a fairness figure would misrepresent, with the reason (empty:
// included), adding a warning to the report for each kind. A run shorter
// than kMinWindowQuanta quanta leaves every VM out: one slice more or less
// moves a share by more than 100 / kMinWindowQuanta percentage points. A
// VM that stopped by itself well before the others had its share measured
// over part of the run only. names: one per VM of the record.
std::vector<std::string> fairnessExclusions(RunReport &report, const RunRecord &record,
					    const sched::Scheduler &scheduler, const std::vector<std::string> &names);

// Slices against their budget, with a warning when more than
// kOverrunMaxFrac of them ran over kOverrunFactor budgets.
void addSliceOverrun(RunReport &report, const SliceOverrun &overrun);

// Warnings that need the host's state (load average): after the run.
void addNoiseWarnings(RunReport &report, const RunMetadata &meta);

std::string formatReportTable(const RunReport &report);
// The --stats-json document: schema_version, meta (ReportMeta.h), figures.
std::string reportJson(const RunReport &report, const RunMetadata &meta);

} // namespace quanta
