// Open-file limits for many VMs: each VM holds two descriptors (the VM and
// its vCPU) for the whole run, so the usual soft limit of 1024 stops a run
// at about 500 VMs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace quanta {

inline constexpr std::size_t kDescriptorsPerVm = 2;
// Beyond the VMs' own: output files, guest files and libev's as they come.
inline constexpr std::size_t kDescriptorsSpare = 32;

struct FileLimit {
	std::uint64_t soft = 0;
	std::uint64_t hard = 0;
};

// Raises this process's soft RLIMIT_NOFILE to its hard limit (no privilege
// needed) and returns the limits now in force; on failure the old ones.
FileLimit raiseFileLimit();

// Descriptors open in this process now (/proc/self/fd), or 0 if unknown.
std::size_t openDescriptors();

// nullopt if vms VMs fit beside inUse open descriptors under limit;
// otherwise one line (without "quanta: ") saying why not.
std::optional<std::string> fileLimitShortfall(std::size_t vms, std::size_t inUse, const FileLimit &limit);

} // namespace quanta
