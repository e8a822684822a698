// The fairness report: computed from measured nanoseconds (RunRecord and
// the scheduler's accounting), printed as a table and written as JSON.
#pragma once

#include <string>
#include <vector>

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
	Nanos ranNs;
	Nanos waitingNs;
	Nanos parkedNs;
	std::uint64_t slices;
	double maxLagQuanta;
	ExitStats exits;
	std::uint64_t workWrites;   // counter writes to ports 0x10/0x11
	std::uint32_t workLast;     // last counter value written
	std::uint64_t workReported; // units reported with the work hypercall
};

struct RunReport {
	std::string policy;
	Nanos quantumNs;
	Nanos wallNs;
	Nanos guestNs;    // sum of time inside KVM_RUN
	Nanos idleNs;     // nothing runnable
	Nanos overheadNs; // wall - guest - idle: the hypervisor's own time
	double overheadPct;
	double jain;
	double maxLagQuanta;
	sched::LatencySummary kickLatency;
	sched::LatencySummary switchLatency;
	int stopSignal;
	bool durationReached;
	bool deadlock;
	struct ChannelRow {
		std::string name, from, to;
		std::uint32_t slots, used;
		std::uint64_t sent, received;
	};
	std::vector<ChannelRow> channels;
	std::vector<VmReport> vms;
};

RunReport buildReport(const RunRecord &record, const sched::Scheduler &scheduler,
		      const std::vector<std::unique_ptr<Machine>> &machines, const ChannelHub *channels);

std::string formatReportTable(const RunReport &report);
std::string reportJson(const RunReport &report);

} // namespace quanta
