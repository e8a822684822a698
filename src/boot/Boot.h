// Initial CPU state for each mode: segments, control registers, GDT and
// page tables. Pure: it fills kvm_sregs/kvm_regs and writes guest memory,
// so every mode is unit-tested without KVM.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <optional>
#include <string>
#include <string_view>

#include "boot/Image.h"
#include "memory/GuestMemory.h"
#include "memory/Layout.h"

namespace quanta {

enum class CpuMode {
	Real,
	Protected,
	Paged,
	Long
};

std::optional<CpuMode> parseCpuMode(std::string_view name);
std::string_view cpuModeName(CpuMode mode);

// The mode an image runs in when --mode is not given: long, except ELF32
// images, which are 32-bit code and start in protected mode.
CpuMode defaultCpuMode(ImageFormat format);

// A real-mode stack lives at the top of the 64 KiB code segment; the image
// must leave at least this much of the segment free.
inline constexpr std::uint64_t kRealModeMinStack = QUANTA_MIN_STACK_REAL;

struct BootParams {
	CpuMode mode = CpuMode::Long;
	PageSize pageSize = PageSize::Size4K;
	std::uint64_t entry = 0;
	std::uint64_t csBase = 0; // real mode only
};

// The highest address an image may reach in this mode (real mode: inside
// its 64 KiB segment, below 1 MiB).
std::uint64_t imageLimitFor(CpuMode mode, std::uint64_t csBase, const MemoryLayout &layout);

// Checks the real-mode constraints (segment alignment, entry inside the
// segment); throws UsageError.
void checkRealModeEntry(std::uint64_t csBase, std::uint64_t entry);

// Guest memory sizes. Any size that is a whole number of pages (4 KiB, or
// 2 MiB with 2 MiB pages) from kMinMemoryBytes up to what the mode can
// map: the page tables live in the reserved area at the top of memory, and
// 32-bit modes address at most 4 GiB.
inline constexpr std::uint64_t kMinMemoryBytes = 1 << 20;
std::uint64_t memoryLimit(CpuMode mode, PageSize pageSize);
// The largest size any mode accepts with this page size.
std::uint64_t memoryLimit(PageSize pageSize);
// Throws UsageError ("WHERE: 64 MiB: ...") naming the limit and what would
// lift it. Without a mode, only what holds for every mode is checked.
void checkMemorySize(std::uint64_t bytes, std::optional<CpuMode> mode, PageSize pageSize, const std::string &where);

struct BootState {
	kvm_sregs sregs;
	kvm_regs regs;
	std::optional<std::uint64_t> pageTableBytes; // set when paging is on
};

// Writes the GDT (and page tables where paging is on) into the reserved
// area and derives registers from `initial` (the vCPU's reset state).
BootState prepareBoot(GuestMemory &memory, const MemoryLayout &layout, const BootParams &params,
		      const kvm_sregs &initial);

} // namespace quanta
