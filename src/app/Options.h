// The command line. Compatible with the mini_hypervisor assignment
// (`-m 4 -p 2 -g a.img b.img -f shared.txt`), plus quanta's own options.
//
// Every option is defined once, in the table in Options.cpp (optionTable):
// its long and short names, its experiment-file key, its default, its help
// and the function that applies a value. CLI11 and the experiment reader
// (Experiment.cpp) are both driven by that table, and test_cli checks that
// every option in --help is in the README's table and in the reader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/Clock.h"
#include "boot/Boot.h"
#include "channels/Channel.h"
#include "devices/AssignmentHypercalls.h"
#include "devices/PortBus.h"
#include "sched/Policy.h"
#include "trace/Plot.h"
#include "trace/Trace.h"
#include "vmm/Guest.h"

namespace quanta {

struct Options {
	std::vector<GuestConfig> guests;
	std::vector<std::string> sharedFiles;
	std::string filesDir = ".";                  // where guests' new local files go
	std::uint64_t fileMaxSize = 64ull << 20;     // a guest file may not grow past this
	std::uint64_t fileQuotaFiles = 64;           // --file-quota: one guest's own files,
	std::uint64_t fileQuotaBytes = 256ull << 20; // in number and in bytes
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
	std::optional<int> cpu;            // --cpu: pin the run loop's thread to this CPU
	bool realtime = false;             // --realtime: SCHED_FIFO where permitted
	std::vector<ChannelSpec> channels;
	AssignmentPorts hypercallPorts;       // --hypercall-ports
	std::vector<std::uint16_t> echoPorts; // --echo-ports

	// Reporting
	enum class ReportMode {
		Auto,
		Always,
		Never
	} report = ReportMode::Auto;
	bool reportExits = false; // --report-exits: the exit table, as perf kvm stat
	std::string statsJsonPath;

	// Seeing the schedule (README "Seeing the schedule")
	std::string tracePath;    // --trace: Chrome trace event JSON
	std::string traceCsvPath; // --trace-csv
	trace::Level traceLevel = trace::Level::Slices;
	std::string plotPath; // --plot: SVG or PNG timeline and shares
	trace::PlotStyle plotStyle = trace::PlotStyle::Normal;
	std::string outDir;      // --out-dir: where relative output names go
	bool runFolders = false; // quanta run: a new numbered run-N folder in outDir per run
	bool explain = false;    // --explain: narrate KVM setup and the first slices
	bool status = true;      // live status line on a terminal (--no-status)
	// `quanta hvt`: exit with the (one) guest's own exit status.
	bool guestExitStatus = false;
};

// A quantum shorter than this is shorter than the host can honour: the
// timer signal and the KVM entry alone take tens of microseconds.
inline constexpr Nanos kShortestHonouredQuantum = 100'000;

struct CommandLine {
	std::optional<Options> options; // set when the program should run
	int exitCode = 0;               // otherwise: exit with this status...
	std::string message;            // ...after printing this (help or one error line)
	bool messageIsError = false;
	std::vector<std::string> warnings; // lines for stderr before running ("quanta: warning: ...")
};

// One value of one option as the user gave it: text from the command line,
// or a typed value from an experiment file. `where` begins every message
// about it: "--quantum" on the command line, "exp.toml:4: quantum" in a file.
struct OptionValue {
	std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>, std::monostate> data;
	std::string where;

	[[noreturn]] void fail(const std::string &why) const; // UsageError "where: why"
	bool flag() const;
	// Text; `what` describes what is expected, for the type error.
	std::string text(const char *what) const;
	// Text, or a whole number from a file written as text ("10ms", 4, "64M").
	std::string textOrNumber(const char *what) const;
	// A whole number: from a file, an integer; on the command line, digits.
	std::uint64_t whole(const char *what) const;
	// A list: several values, or one.
	std::vector<std::string> list(const char *what) const;
};

// A channel as given, before its VM names are looked up.
struct ChannelSetting {
	std::string from;
	std::string to;
	std::optional<std::string> name;
	std::optional<std::uint32_t> slots;
	std::optional<std::uint32_t> maxSize;
	std::string where;
};

// Every option's value before the options are checked against one another
// (names against channels, shares against guests). The table writes here
// from the command line and from experiment files alike; resolve() makes
// the Options. Fields that need no cross-check live in `options` already.
struct Settings {
	Options options;
	std::vector<std::string> images;
	std::uint64_t memoryBytes = 2 << 20;
	std::string memoryWhere;
	PageSize pageSize = PageSize::Size4K;
	std::uint64_t flatLoad = 0;
	std::optional<std::uint64_t> flatEntry;
	std::optional<std::uint64_t> csBase;
	std::vector<CpuMode> modes; // one for all, or one per guest; empty: each image's default
	std::string modesWhere;
	bool modesPerGuest = false; // an experiment's [[vm]] modes (replaced by -g)
	std::vector<std::string> names;
	std::string namesWhere;
	std::vector<std::uint64_t> shares;
	std::string sharesWhere;
	std::optional<std::string> stdinVm;
	std::string stdinWhere;
	std::vector<ChannelSetting> channels;
	bool report = false;
	bool noReport = false;
	// Solo5 hvt guests' devices and command lines, as given ("VM:NAME=PATH",
	// "VM=ARGS"); resolve() looks the VM names up.
	struct HvtSetting {
		std::string option; // "--block", "--block-sector-size", "--net", "--net-mac", "--cmdline"
		std::string text;
		std::string where;
	};
	std::vector<HvtSetting> hvt;

	// A new list of guests (-g after an experiment file) drops what was
	// said about the old ones: names, shares, per-VM modes, channels.
	void forgetGuests();
};

enum class OptionKind {
	Flag,     // no value (true when given)
	Value,    // one value
	Values,   // one or more values after the option (-g a b c)
	Repeated, // one value, the option repeatable (--channel)
};

// One option, defined once. To add an option: add a row to optionTable()
// in Options.cpp (names, key, kind, default, help, apply), a field to
// Options (or Settings if it must be checked against other options in
// resolve), and a row to the README's option table; test_cli fails until
// the README row exists and the file form gives what the flag gives.
struct OptionDef {
	const char *longName;  // "--memory"
	const char *shortName; // "-m", or nullptr
	const char *key;       // experiment-file key ("memory", "vm.share"); nullptr: command line only
	OptionKind kind;
	const char *defaultValue; // applied before any other value and shown in --help; nullptr: none
	const char *help;
	void (*apply)(Settings &settings, const OptionValue &value);
	bool negated = false;           // a flag that sets its key to false (--no-prefix is prefix = false)
	bool inputPath = false;         // in a file, relative to the file's directory
	const char *typeName = nullptr; // shown in --help (SIZE, DURATION, ...)
};

const std::vector<OptionDef> &optionTable();
const OptionDef &findOption(const std::string &longName); // throws std::logic_error if none

// Settings with every option at its default.
Settings defaultSettings();

// Applies one value to the option with this experiment-file key; throws
// UsageError (unknown key, or a bad value). The file reader calls it for
// every top-level key; a later [sweep] can call it for one override at a
// time on a copy of an experiment's Settings, then resolve() the copy.
void applyKey(Settings &settings, const std::string &key, const OptionValue &value);

// Checks the options against one another and builds the Options; throws
// UsageError. Warnings (a quantum shorter than the host honours) are added.
Options resolve(const Settings &settings, std::vector<std::string> *warnings = nullptr);

// Applies a command line over settings (args[0] is the program name) and
// resolves it. requireGuests: an experiment file may have given them.
// Never throws and never exits.
CommandLine parseCommandLine(const std::vector<std::string> &args);
CommandLine parseCommandLine(const std::vector<std::string> &args, Settings settings);

// "--qauntum" -> "--quantum": the closest long option, or "" if none is close.
std::string closestOption(const std::string &given);
// The closest of names (at most two edits away), or "".
std::string closestName(const std::string &given, const std::vector<std::string> &names);
bool isOptionKey(const std::string &key);

// One CPU share: a whole number from 1 to 1,000,000.
std::uint64_t shareValue(const OptionValue &value);

// Memory sizes: a bare number is MiB; K, M, G (or KiB, MiB, GiB) give units.
std::optional<std::uint64_t> parseMemorySize(const std::string &text);

} // namespace quanta
