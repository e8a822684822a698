#include <doctest/doctest.h>

#include "base/Error.h"
#include "boot/Boot.h"

using namespace quanta;

namespace {

kvm_sregs resetState()
{
	// What KVM reports for a fresh vCPU, reduced to what prepareBoot reads.
	kvm_sregs s{};
	s.cs.selector = 0xf000;
	s.cs.base = 0xffff0000;
	s.cs.limit = 0xffff;
	s.cs.type = 0xb;
	s.cs.present = 1;
	s.cs.s = 1;
	s.cr0 = 0x60000010;
	return s;
}

} // namespace

TEST_CASE("real mode: segments from the CS base, stack at the segment top")
{
	GuestMemory memory(2 << 20);
	MemoryLayout layout{ memory.size() };
	BootParams params{ CpuMode::Real, PageSize::Size4K, 0x10010, 0x10000 };
	BootState state = prepareBoot(memory, layout, params, resetState());
	CHECK(state.sregs.cs.base == 0x10000u);
	CHECK(state.sregs.cs.selector == 0x1000u);
	CHECK(state.sregs.ss.base == 0x10000u);
	CHECK(state.sregs.ds.selector == 0x1000u);
	CHECK(state.regs.rip == 0x10u);
	CHECK(state.regs.rsp == 0u);
	CHECK((state.sregs.cr0 & 1u) == 0u);
	CHECK_FALSE(state.pageTableBytes);
}

TEST_CASE("real mode rejects a misaligned or out-of-range segment")
{
	CHECK_THROWS_AS(checkRealModeEntry(0x10008, 0x10008), UsageError);
	CHECK_THROWS_AS(checkRealModeEntry(0x100000, 0x100000), UsageError);
	CHECK_THROWS_AS(checkRealModeEntry(0x0, 0x10000), UsageError);
	CHECK_NOTHROW(checkRealModeEntry(0x0, 0xffff));
}

TEST_CASE("protected mode: flat segments, GDT in the reserved area, no paging")
{
	GuestMemory memory(4 << 20);
	MemoryLayout layout{ memory.size() };
	BootState state = prepareBoot(memory, layout, { CpuMode::Protected, PageSize::Size4K, 0x1000, 0 },
				      resetState());
	CHECK((state.sregs.cr0 & 1u) == 1u);
	CHECK((state.sregs.cr0 & (1ull << 31)) == 0u);
	CHECK(state.sregs.cs.selector == QUANTA_SEL_CODE32);
	CHECK(state.sregs.cs.db == 1);
	CHECK(state.sregs.ss.selector == QUANTA_SEL_DATA);
	CHECK(state.regs.rip == 0x1000u);
	CHECK(state.regs.rsp == (4u << 20) - QUANTA_RESERVED_SIZE);
	CHECK(state.sregs.gdt.base == raw(layout.gdt()));
	// The code descriptor in memory matches the cached one: base 0, 4 GiB, 32-bit.
	auto code = memory.load<std::uint64_t>(gpa(raw(layout.gdt()) + QUANTA_SEL_CODE32));
	CHECK(code == 0x00cf9b000000ffffull);
	auto data = memory.load<std::uint64_t>(gpa(raw(layout.gdt()) + QUANTA_SEL_DATA));
	CHECK(data == 0x00cf93000000ffffull);
}

TEST_CASE("paged mode picks legacy 32-bit paging for 4K and PAE for 2M")
{
	GuestMemory memory(2 << 20);
	MemoryLayout layout{ memory.size() };
	BootState small = prepareBoot(memory, layout, { CpuMode::Paged, PageSize::Size4K, 0x1000, 0 }, resetState());
	CHECK((small.sregs.cr0 & (1ull << 31)) != 0u);
	CHECK((small.sregs.cr4 & (1u << 5)) == 0u);
	BootState large = prepareBoot(memory, layout, { CpuMode::Paged, PageSize::Size2M, 0x1000, 0 }, resetState());
	CHECK((large.sregs.cr4 & (1u << 5)) != 0u);
	CHECK(large.sregs.efer == 0u);
}

TEST_CASE("long mode: EFER.LME/LMA, 64-bit code segment, tables below the stack")
{
	GuestMemory memory(8 << 20);
	MemoryLayout layout{ memory.size() };
	BootState state = prepareBoot(memory, layout, { CpuMode::Long, PageSize::Size4K, 0x1000, 0 }, resetState());
	CHECK((state.sregs.efer & 0x500u) == 0x500u);
	CHECK(state.sregs.cs.l == 1);
	CHECK(state.sregs.cs.db == 0);
	CHECK(state.sregs.cs.selector == QUANTA_SEL_CODE64);
	auto code64 = memory.load<std::uint64_t>(gpa(raw(layout.gdt()) + QUANTA_SEL_CODE64));
	CHECK(code64 == 0x00af9b000000ffffull);
	CHECK(state.sregs.cr3 >= state.regs.rsp);
	CHECK(state.sregs.cr3 + *state.pageTableBytes <= memory.size());
}

TEST_CASE("image limits leave room for the stack")
{
	MemoryLayout layout{ 2 << 20 };
	CHECK(imageLimitFor(CpuMode::Long, 0, layout) == (2u << 20) - QUANTA_RESERVED_SIZE - QUANTA_MIN_STACK);
	CHECK(imageLimitFor(CpuMode::Real, 0x10000, layout) == 0x20000 - kRealModeMinStack);
}

TEST_CASE("mode names round trip")
{
	for (CpuMode mode : { CpuMode::Real, CpuMode::Protected, CpuMode::Paged, CpuMode::Long })
		CHECK(parseCpuMode(cpuModeName(mode)) == mode);
	CHECK_FALSE(parseCpuMode("unreal"));
	CHECK(defaultCpuMode(ImageFormat::Elf32) == CpuMode::Protected);
	CHECK(defaultCpuMode(ImageFormat::Flat) == CpuMode::Long);
}

TEST_CASE("memory limits by mode and page size")
{
	CHECK(memoryLimit(CpuMode::Long, PageSize::Size4K) == 18ull << 20);
	CHECK(memoryLimit(CpuMode::Long, PageSize::Size2M) == 10ull << 30);
	CHECK(memoryLimit(CpuMode::Paged, PageSize::Size4K) == 44ull << 20);
	CHECK(memoryLimit(CpuMode::Paged, PageSize::Size2M) == 4ull << 30);
	CHECK(memoryLimit(CpuMode::Real, PageSize::Size4K) == 4ull << 30);
	CHECK(memoryLimit(CpuMode::Protected, PageSize::Size2M) == 4ull << 30);
	CHECK(memoryLimit(PageSize::Size4K) == 4ull << 30);
	CHECK(memoryLimit(PageSize::Size2M) == 10ull << 30);
	for (std::uint64_t mib : { 2, 4, 8 })
		for (CpuMode mode : { CpuMode::Real, CpuMode::Protected, CpuMode::Paged, CpuMode::Long })
			for (PageSize size : { PageSize::Size4K, PageSize::Size2M })
				CHECK_NOTHROW(checkMemorySize(mib << 20, mode, size, "-m"));
	CHECK_THROWS_WITH_AS(checkMemorySize(19ull << 20, CpuMode::Long, PageSize::Size4K, "-m"),
			     "-m: 19 MiB: long mode with 4 KiB pages maps at most 18 MiB (its page tables fit in 48 "
			     "KiB); -p 2 (2 MiB pages) maps up to 10 GiB",
			     UsageError);
	CHECK_THROWS_AS(checkMemorySize(12ull << 30, std::nullopt, PageSize::Size2M, "-m"), UsageError);
	CHECK_NOTHROW(checkMemorySize(1ull << 30, std::nullopt, PageSize::Size4K, "-m"));
}
