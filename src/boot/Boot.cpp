#include "boot/Boot.h"

#include <algorithm>
#include <array>
#include <fmt/format.h>

#include "base/Error.h"
#include "memory/PageTables.h"

namespace quanta {

namespace {

constexpr std::uint64_t kCr0Pe = 1u << 0;
constexpr std::uint64_t kCr0Et = 1u << 4;
constexpr std::uint64_t kCr0Pg = 1ull << 31;
constexpr std::uint64_t kCr4Pae = 1u << 5;
constexpr std::uint64_t kEferLme = 1u << 8;
constexpr std::uint64_t kEferLma = 1u << 10;
constexpr std::uint64_t kRflagsReserved = 1u << 1;

constexpr std::uint8_t kTypeCode = 0xb; // execute/read, accessed
constexpr std::uint8_t kTypeData = 0x3; // read/write, accessed

kvm_segment flatSegment(std::uint16_t selector, std::uint8_t type, bool longMode)
{
	kvm_segment seg{};
	seg.base = 0;
	seg.limit = 0xffffffff;
	seg.selector = selector;
	seg.type = type;
	seg.present = 1;
	seg.dpl = 0;
	seg.s = 1;
	seg.g = 1;
	seg.l = longMode ? 1 : 0;
	seg.db = longMode ? 0 : 1;
	return seg;
}

// Packs a kvm_segment into the 8-byte GDT descriptor format.
std::uint64_t descriptor(const kvm_segment &seg)
{
	std::uint64_t limit = seg.g ? (seg.limit >> 12) : seg.limit;
	std::uint64_t access = seg.type | (std::uint64_t{ seg.s } << 4) |
			       (std::uint64_t{ seg.dpl } << 5) | (std::uint64_t{ seg.present } << 7);
	std::uint64_t flags = (std::uint64_t{ seg.l } << 1) | (std::uint64_t{ seg.db } << 2) |
			      (std::uint64_t{ seg.g } << 3);
	return (limit & 0xffff) | ((seg.base & 0xffffff) << 16) | (access << 40) |
	       (((limit >> 16) & 0xf) << 48) | (flags << 52) | ((std::uint64_t{ seg.base } >> 24) << 56);
}

void writeGdt(GuestMemory &memory, const MemoryLayout &layout, kvm_sregs &sregs)
{
	const std::array<std::uint64_t, 4> gdt = {
		0,
		descriptor(flatSegment(QUANTA_SEL_CODE32, kTypeCode, false)),
		descriptor(flatSegment(QUANTA_SEL_DATA, kTypeData, false)),
		descriptor(flatSegment(QUANTA_SEL_CODE64, kTypeCode, true)),
	};
	if (!memory.store(layout.gdt(), gdt))
		throw UsageError("GDT lies outside guest memory");
	sregs.gdt.base = raw(layout.gdt());
	sregs.gdt.limit = sizeof(gdt) - 1;
	// No IDT: a guest exception triple-faults and quanta reports it.
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
}

void setDataSegments(kvm_sregs &sregs, const kvm_segment &data)
{
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
}

} // namespace

std::optional<CpuMode> parseCpuMode(std::string_view name)
{
	if (name == "real")
		return CpuMode::Real;
	if (name == "protected")
		return CpuMode::Protected;
	if (name == "paged")
		return CpuMode::Paged;
	if (name == "long")
		return CpuMode::Long;
	return std::nullopt;
}

std::string_view cpuModeName(CpuMode mode)
{
	switch (mode) {
	case CpuMode::Real:
		return "real";
	case CpuMode::Protected:
		return "protected";
	case CpuMode::Paged:
		return "paged";
	case CpuMode::Long:
		return "long";
	}
	return "?";
}

CpuMode defaultCpuMode(ImageFormat format)
{
	return format == ImageFormat::Elf32 ? CpuMode::Protected : CpuMode::Long;
}

std::uint64_t imageLimitFor(CpuMode mode, std::uint64_t csBase, const MemoryLayout &layout)
{
	if (mode != CpuMode::Real)
		return layout.imageLimit();
	return std::min(csBase + 0x10000 - kRealModeMinStack, layout.imageLimit());
}

std::uint64_t memoryLimit(CpuMode mode, PageSize pageSize)
{
	constexpr std::uint64_t k4G = 4ull << 30;
	switch (mode) {
	case CpuMode::Real:
	case CpuMode::Protected:
		return k4G;
	case CpuMode::Paged:
		return std::min(k4G, identityMapLimit(pageSize == PageSize::Size2M ? PagingKind::Pae : PagingKind::Legacy32,
						      pageSize, QUANTA_RESERVED_PAGING_SIZE));
	case CpuMode::Long:
		return identityMapLimit(PagingKind::Long4Level, pageSize, QUANTA_RESERVED_PAGING_SIZE);
	}
	return 0;
}

std::uint64_t memoryLimit(PageSize pageSize)
{
	std::uint64_t most = 0;
	for (CpuMode mode : { CpuMode::Real, CpuMode::Protected, CpuMode::Paged, CpuMode::Long })
		most = std::max(most, memoryLimit(mode, pageSize));
	return most;
}

namespace {

std::string sizeText(std::uint64_t bytes)
{
	if (bytes % (1ull << 30) == 0)
		return fmt::format("{} GiB", bytes >> 30);
	if (bytes % (1ull << 20) == 0)
		return fmt::format("{} MiB", bytes >> 20);
	return fmt::format("{} KiB", bytes >> 10);
}

} // namespace

void checkMemorySize(std::uint64_t bytes, std::optional<CpuMode> mode, PageSize pageSize, const std::string &where)
{
	const bool large = pageSize == PageSize::Size2M;
	const std::uint64_t page = large ? 2ull << 20 : 4096;
	if (bytes < kMinMemoryBytes)
		throw UsageError(fmt::format("{}: {}: guest memory must be at least {}", where, sizeText(bytes),
					     sizeText(kMinMemoryBytes)));
	if (bytes % page)
		throw UsageError(fmt::format("{}: {}: not a whole number of {} pages{}", where, sizeText(bytes),
					     large ? "2 MiB" : "4 KiB", large ? " (-p 2)" : ""));
	if (!mode) {
		if (bytes > memoryLimit(pageSize))
			throw UsageError(fmt::format("{}: {}: more than any mode can map with {} pages (at most {})",
						     where, sizeText(bytes), large ? "2 MiB" : "4 KiB",
						     sizeText(memoryLimit(pageSize))));
		return;
	}
	std::uint64_t limit = memoryLimit(*mode, pageSize);
	if (bytes <= limit)
		return;
	std::string why = *mode == CpuMode::Real || *mode == CpuMode::Protected
				  ? "a 32-bit guest addresses at most 4 GiB"
				  : fmt::format("its page tables fit in {} KiB", QUANTA_RESERVED_PAGING_SIZE / 1024);
	std::string lift;
	if (!large && memoryLimit(*mode, PageSize::Size2M) > limit)
		lift = fmt::format("; -p 2 (2 MiB pages) maps up to {}", sizeText(memoryLimit(*mode, PageSize::Size2M)));
	throw UsageError(fmt::format("{}: {}: {} mode with {} pages maps at most {} ({}){}", where, sizeText(bytes),
				     cpuModeName(*mode), large ? "2 MiB" : "4 KiB", sizeText(limit), why, lift));
}

void checkRealModeEntry(std::uint64_t csBase, std::uint64_t entry)
{
	if (csBase % 16 != 0 || csBase >= 0x100000)
		throw UsageError(fmt::format(
			"real-mode code segment base {:#x} must be 16-byte aligned and below 1 MiB", csBase));
	if (entry < csBase || entry - csBase > 0xffff)
		throw UsageError(fmt::format(
			"real-mode entry {:#x} is outside the 64 KiB segment at {:#x}", entry, csBase));
}

BootState prepareBoot(GuestMemory &memory, const MemoryLayout &layout, const BootParams &params,
		      const kvm_sregs &initial)
{
	BootState state{};
	state.sregs = initial;
	state.regs.rflags = kRflagsReserved;
	kvm_sregs &sregs = state.sregs;

	if (params.mode == CpuMode::Real) {
		checkRealModeEntry(params.csBase, params.entry);
		kvm_segment seg = initial.cs;
		seg.base = params.csBase;
		seg.selector = static_cast<std::uint16_t>(params.csBase >> 4);
		seg.limit = 0xffff;
		sregs.cs = seg;
		seg.type = kTypeData;
		setDataSegments(sregs, seg);
		sregs.cr0 = initial.cr0 & ~(kCr0Pe | kCr0Pg);
		state.regs.rip = params.entry - params.csBase;
		state.regs.rsp = 0; // first push wraps to the top of the segment
		return state;
	}

	writeGdt(memory, layout, sregs);
	sregs.cr0 = kCr0Pe | kCr0Et;
	sregs.cr4 = 0;
	sregs.efer = 0;
	state.regs.rip = params.entry;
	state.regs.rsp = layout.stackTop();

	const bool longMode = params.mode == CpuMode::Long;
	sregs.cs = flatSegment(longMode ? QUANTA_SEL_CODE64 : QUANTA_SEL_CODE32, kTypeCode, longMode);
	setDataSegments(sregs, flatSegment(QUANTA_SEL_DATA, kTypeData, false));

	if (params.mode == CpuMode::Protected)
		return state;

	PagingKind kind = PagingKind::Long4Level;
	if (params.mode == CpuMode::Paged)
		kind = params.pageSize == PageSize::Size2M ? PagingKind::Pae : PagingKind::Legacy32;
	PagingResult paging = buildIdentityPaging(memory, kind, params.pageSize, layout.memoryBytes,
						  layout.pagingBase(), QUANTA_RESERVED_PAGING_SIZE);
	sregs.cr3 = paging.cr3;
	sregs.cr0 |= kCr0Pg;
	if (kind != PagingKind::Legacy32)
		sregs.cr4 |= kCr4Pae;
	if (longMode)
		sregs.efer |= kEferLme | kEferLma;
	state.pageTableBytes = paging.bytesUsed;
	return state;
}

} // namespace quanta
