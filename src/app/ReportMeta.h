// Run metadata: what every JSON file quanta writes carries so that each
// number can be traced to the binary, the command, the host and its load
// (docs/schema/ describes the files; kSchemaVersion changes with them).
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quanta {

// Bump when a key of the report, trace or summary JSON changes meaning or
// disappears (adding keys keeps the version).
inline constexpr int kSchemaVersion = 1;

struct RunMetadata {
	std::string quantaVersion;
	std::string quantaCommit; // git describe of the build ("-dirty": local changes)
	std::vector<std::string> commandLine;
	std::string commandSha256;  // over the arguments joined by NUL bytes
	std::string experimentPath; // `quanta run FILE` / `quanta sweep FILE`
	std::string experimentSha256;
	std::optional<std::uint64_t> seed;
	std::string startTime; // UTC, ISO 8601 with milliseconds
	std::string hostName;
	std::string kernel;    // uname: sysname release version machine
	std::string kvmVia;    // "direct" or "sandbox" (QUANTA_KVM_VIA)
	std::string kvmModule; // kvm_pvm, kvm_amd, kvm_intel or "unknown"
	std::string cpuModel;
	long cpusOnline = 0;
	std::string cpuAffinity; // e.g. "0-1"
	std::optional<int> cpuPinned;
	// --realtime: "SCHED_FIFO N" when granted, "refused: ..." when not;
	// nullopt when not asked for.
	std::optional<std::string> realtime;
	int cpuAtStart = -1;
	int cpuAtEnd = -1;
	std::array<double, 3> loadBefore{}; // 1, 5 and 15 minute load averages
	std::array<double, 3> loadAfter{};
	nlohmann::json sweep; // set on runs of quanta sweep (Sweep.h)
};

// Everything known before the run; args is the command line.
RunMetadata startMetadata(const std::vector<std::string> &args, std::optional<std::uint64_t> seed);
// The same, reading the command line from /proc/self/cmdline.
RunMetadata startMetadata(std::optional<std::uint64_t> seed);
// Load average and CPU after the run.
void finishMetadata(RunMetadata &meta);

nlohmann::json metadataJson(const RunMetadata &meta);

// The experiment file named by a command line (`quanta run|sweep FILE`).
std::string experimentFileOf(const std::vector<std::string> &args);

// Pins the calling thread to one CPU; throws UsageError when this process
// may not run there (offline, or outside its cgroup or affinity mask).
void pinToCpu(int cpu);

// SHA-256 of data as 64 lowercase hex digits (sha256sum prints the same).
std::string sha256Hex(std::string_view data);

// "0-3,6": a CPU set as a list of ranges.
std::string cpuListText(const std::vector<int> &cpus);

} // namespace quanta
