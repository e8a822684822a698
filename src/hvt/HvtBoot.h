// The hvt boot profile: memory layout, page tables, GDT, initial registers
// and the boot info (memory size, kernel end, TSC frequency, command line,
// manifest) as a Solo5 hvt guest expects them. Pure: fills kvm_sregs and
// kvm_regs and writes guest memory, so it is unit-tested without KVM.
//
// Guest-physical layout (all below the 1 MiB where the kernel starts):
//   0x0000 - 0x0fff  unmapped (null pointers fault in the guest)
//   0x1000           GDT: null, 64-bit code, data
//   0x2000           PML4
//   0x3000           PDPT (4 entries: up to 4 GiB)
//   0x4000 - 0x7fff  4 page directories of 2 MiB pages
//   0x8000           page table for the first 2 MiB (4 KiB pages)
//   0x10000          boot info, then the manifest, then the command line
//                    (read-only to the guest up to 1 MiB)
//   top - 8          initial stack pointer
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <string>
#include <vector>

#include "hvt/HvtAbi.h"
#include "memory/GuestMemory.h"

namespace quanta::hvt {

inline constexpr std::uint64_t kGdtBase = 0x1000;
inline constexpr std::uint64_t kPml4Base = 0x2000;
inline constexpr std::uint64_t kPdptBase = 0x3000;
inline constexpr std::uint64_t kPdBase = 0x4000;
inline constexpr std::uint64_t kPt0Base = 0x8000;
inline constexpr std::uint64_t kBootInfoBase = 0x10000;
inline constexpr std::uint64_t kLargePage = 2 << 20;
// Four page directories of 512 2-MiB pages.
inline constexpr std::uint64_t kMaxMemory = 4ull << 30;
inline constexpr std::uint64_t kDefaultMemory = 512ull << 20; // solo5-hvt's default

// The guest memory size for a request: rounded down to 2 MiB (at least
// 2 MiB). Throws UsageError above 4 GiB, the most the page tables map.
std::uint64_t guestMemorySize(std::uint64_t requested);

// Joins the guest's arguments with spaces, as solo5-hvt does; throws
// UsageError when the result does not fit in kCmdlineSize.
std::string joinCommandLine(const std::vector<std::string> &args);

struct BootParams {
	std::uint64_t entry = 0;
	std::uint64_t kernelEnd = 0;
	std::uint64_t tscHz = 0;
	std::vector<std::uint8_t> manifest; // with the attached devices filled in
	std::string cmdline;
};

struct BootState {
	kvm_sregs sregs;
	kvm_regs regs;
};

// Writes the GDT, the page tables and the boot info into memory (whose
// size must come from guestMemorySize) and derives the registers from
// `initial` (the vCPU's reset state).
BootState prepareBoot(GuestMemory &memory, const BootParams &params, const kvm_sregs &initial);

} // namespace quanta::hvt
