// The command line. Compatible with the mini_hypervisor assignment
// (`-m 4 -p 2 -g a.img b.img -f shared.txt`), plus quanta's own options.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/Clock.h"
#include "boot/Boot.h"
#include "channels/Channel.h"
#include "devices/PortBus.h"
#include "sched/Policy.h"
#include "trace/Trace.h"
#include "vmm/Guest.h"

namespace quanta {

struct Options {
	std::vector<GuestConfig> guests;
	std::vector<std::string> sharedFiles;
	std::string filesDir = ".";              // where guests' new local files go
	std::uint64_t fileMaxSize = 64ull << 20; // a guest file may not grow past this
	UnknownPortPolicy unknownPorts = UnknownPortPolicy::Fault;
	bool prefixOutput = true;
	bool kvmCheck = false; // --kvm-check: probe every CPU mode and exit

	// Scheduling
	sched::Policy policy = sched::kDefaultPolicy;
	Nanos quantum = 10'000'000;
	std::vector<std::uint64_t> shares; // one per guest
	std::optional<Nanos> duration;
	std::size_t stdinVm = 0;           // which VM reads standard input
	std::optional<std::uint64_t> seed; // --seed: reproducible random hypercall
	std::vector<ChannelSpec> channels;

	// Reporting
	enum class ReportMode {
		Auto,
		Always,
		Never
	} report = ReportMode::Auto;
	std::string statsJsonPath;

	// Seeing the schedule (README "Seeing the schedule")
	std::string tracePath;    // --trace: Chrome trace event JSON
	std::string traceCsvPath; // --trace-csv
	trace::Level traceLevel = trace::Level::Slices;
	std::string plotPath; // --plot: SVG timeline and shares
	bool explain = false; // --explain: narrate KVM setup and the first slices
	bool status = true;   // live status line on a terminal (--no-status)
};

struct CommandLine {
	std::optional<Options> options; // set when the program should run
	int exitCode = 0;               // otherwise: exit with this status...
	std::string message;            // ...after printing this (help or one error line)
	bool messageIsError = false;
};

// args[0] is the program name. Never throws and never exits.
CommandLine parseCommandLine(const std::vector<std::string> &args);

} // namespace quanta
