// The page walker (memory/PageWalk) without KVM: quanta's own identity maps
// (buildIdentityPaging) and hand-built, non-identity tables in every format,
// with every way a walk can fail.
#include <cstdint>
#include <doctest/doctest.h>
#include <string>

#include "memory/GuestMemory.h"
#include "memory/Layout.h"
#include "memory/PageTables.h"
#include "memory/PageWalk.h"

namespace quanta {

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kP = pte::kPresent | pte::kWritable;

PagingState paging(PagingState::Kind kind, std::uint64_t cr3, bool pse = false)
{
	PagingState state;
	state.kind = kind;
	state.cr3 = cr3;
	state.pse = pse;
	return state;
}

// Translates and expects success.
std::uint64_t ok(const GuestMemory &m, const PagingState &p, std::uint64_t linear)
{
	Translation t = translate(m, p, linear);
	INFO("linear ", linear, ": ", t.error);
	REQUIRE(t.address.has_value());
	CHECK(t.error.empty());
	return raw(*t.address);
}

// Translates and expects a failure whose message contains `why`.
void fails(const GuestMemory &m, const PagingState &p, std::uint64_t linear, const std::string &why)
{
	Translation t = translate(m, p, linear);
	INFO("linear ", linear, ": ", t.error);
	CHECK_FALSE(t.address.has_value());
	CHECK(t.error.find(why) != std::string::npos);
}

void set64(GuestMemory &m, std::uint64_t at, std::uint64_t value)
{
	REQUIRE(m.store<std::uint64_t>(gpa(at), value));
}

void set32(GuestMemory &m, std::uint64_t at, std::uint32_t value)
{
	REQUIRE(m.store<std::uint32_t>(gpa(at), value));
}

PagingResult identity(GuestMemory &m, PagingKind kind, PageSize size)
{
	MemoryLayout layout{ m.size() };
	return buildIdentityPaging(m, kind, size, m.size(), layout.pagingBase(), QUANTA_RESERVED_PAGING_SIZE);
}

} // namespace

TEST_CASE("no paging: linear is physical, bounded by memory")
{
	GuestMemory m(2 * kMiB);
	PagingState p = paging(PagingState::Kind::None, 0);
	CHECK(ok(m, p, 0) == 0);
	CHECK(ok(m, p, 0x1234) == 0x1234);
	CHECK(ok(m, p, 2 * kMiB - 1) == 2 * kMiB - 1);
	fails(m, p, 2 * kMiB, "0x200000 maps to guest-physical 0x200000, past the end of memory (0x200000)");
	fails(m, p, 0xffffffff, "past the end of memory");
	fails(m, p, ~std::uint64_t{ 0 }, "past the end of memory");
}

TEST_CASE("long mode: quanta's identity map, 4 KiB and 2 MiB pages")
{
	for (std::uint64_t mib : { 2, 4, 8 }) {
		for (PageSize size : { PageSize::Size4K, PageSize::Size2M }) {
			CAPTURE(mib);
			CAPTURE(size == PageSize::Size4K);
			GuestMemory m(mib * kMiB);
			PagingState p = paging(PagingState::Kind::Long, identity(m, PagingKind::Long4Level, size).cr3);
			for (std::uint64_t va : { std::uint64_t{ 0 }, std::uint64_t{ 0x400 }, std::uint64_t{ 0x1fff },
						  std::uint64_t{ 0x1ff000 }, std::uint64_t{ 0x200000 } % (mib * kMiB),
						  mib * kMiB - QUANTA_RESERVED_SIZE, mib * kMiB - 1 })
				CHECK(ok(m, p, va) == va);
			// Just past memory: the PD entry after the last one is absent.
			fails(m, p, mib * kMiB, "is not mapped (page-directory entry not present)");
			fails(m, p, 0x40000000, "0x40000000 is not mapped (PDPT entry not present)");
			fails(m, p, 0xffffffff, "(PDPT entry not present)");
			fails(m, p, std::uint64_t{ 1 } << 39, "(PML4 entry not present)");
			fails(m, p, 0xffff800000000000ull, "(PML4 entry not present)");
		}
	}
}

TEST_CASE("long mode: a partly filled page table ends the map at the end of memory")
{
	// 3 MiB of memory with 4 KiB pages: the second page table is half full.
	GuestMemory m(3 * kMiB);
	PagingState p = paging(PagingState::Kind::Long, identity(m, PagingKind::Long4Level, PageSize::Size4K).cr3);
	CHECK(ok(m, p, 3 * kMiB - 1) == 3 * kMiB - 1);
	fails(m, p, 3 * kMiB, "0x300000 is not mapped (page-table entry not present)");
}

// Hand-built long-mode tables in 4 MiB of memory:
//   PML4 0x10000, PDPT 0x11000, PD 0x12000, PT 0x13000
//   0x40000000 + 4 KiB pages:  PT[0] -> 0x5000, PT[1] -> 0x123000,
//                              PT[2] not present, PT[3] -> past memory
//   0x40200000: a 2 MiB page -> 0x200000
//   0x40400000: PD entry whose table lies outside memory
//   0x80000000: a 1 GiB page -> 0 (only its first 4 MiB are memory)
//   0xffff800000000000 (PML4[256]) -> the same PDPT
TEST_CASE("long mode: hand-built non-identity mappings")
{
	GuestMemory m(4 * kMiB);
	const std::uint64_t pml4 = 0x10000, pdpt = 0x11000, pd = 0x12000, pt = 0x13000;
	set64(m, pml4 + 0 * 8, pdpt | kP);
	set64(m, pml4 + 256 * 8, pdpt | kP);
	set64(m, pdpt + 1 * 8, pd | kP);
	set64(m, pdpt + 2 * 8, 0x0 | kP | pte::kLarge);
	set64(m, pd + 0 * 8, pt | kP);
	set64(m, pd + 1 * 8, 0x200000 | kP | pte::kLarge);
	set64(m, pd + 2 * 8, 0x80000000 | kP);
	set64(m, pt + 0 * 8, 0x5000 | kP);
	set64(m, pt + 1 * 8, 0x123000 | kP);
	set64(m, pt + 3 * 8, (4 * kMiB + 0x1000) | kP);
	PagingState p = paging(PagingState::Kind::Long, pml4);

	SUBCASE("4 KiB pages")
	{
		CHECK(ok(m, p, 0x40000000) == 0x5000);
		CHECK(ok(m, p, 0x40000abc) == 0x5abc);
		CHECK(ok(m, p, 0x40001fff) == 0x123fff);
		fails(m, p, 0x40002000, "0x40002000 is not mapped (page-table entry not present)");
		fails(m, p, 0x40003010,
		      "0x40003010 maps to guest-physical 0x401010, past the end of memory (0x400000)");
	}
	SUBCASE("2 MiB page")
	{
		CHECK(ok(m, p, 0x40200000) == 0x200000);
		CHECK(ok(m, p, 0x403fffff) == 0x3fffff);
	}
	SUBCASE("1 GiB page")
	{
		CHECK(ok(m, p, 0x80000000) == 0);
		CHECK(ok(m, p, 0x80123456) == 0x123456);
		fails(m, p, 0x80400000, "maps to guest-physical 0x400000, past the end of memory");
	}
	SUBCASE("upper half of the canonical space")
	{
		CHECK(ok(m, p, 0xffff800040000010ull) == 0x5010);
		fails(m, p, 0xffff800000000000ull, "(PDPT entry not present)");
	}
	SUBCASE("not present at each level")
	{
		fails(m, p, std::uint64_t{ 1 } << 39, "(PML4 entry not present)");
		fails(m, p, 0xc0000000, "(PDPT entry not present)");
		fails(m, p, 0x40600000, "(page-directory entry not present)");
		fails(m, p, 0x40002000, "(page-table entry not present)");
	}
	SUBCASE("tables outside memory")
	{
		fails(m, p, 0x40400000, "page-table entry at 0x80000000 lies outside guest memory");
		fails(m, p, 0x40400000 + 5 * 0x1000, "page-table entry at 0x80000028 lies outside guest memory");
		// Each level's table pointer, and CR3 itself.
		set64(m, pdpt + 3 * 8, 0x7ffff000 | kP);
		fails(m, p, 0xc0000000, "page-directory entry at 0x7ffff000 lies outside guest memory");
		set64(m, pml4 + 1 * 8, 0x1000000000ull | kP);
		fails(m, p, std::uint64_t{ 1 } << 39, "PDPT entry at 0x1000000000 lies outside guest memory");
		fails(m, paging(PagingState::Kind::Long, 0x400000), 0, "PML4 entry at 0x400000 lies outside guest memory");
		// The last entry of a table that ends exactly at the end of memory is fine.
		set64(m, 4 * kMiB - 8, 0x5000 | kP);
		set64(m, pd + 3 * 8, (4 * kMiB - 0x1000) | kP);
		CHECK(ok(m, p, 0x40600000 + 511 * 0x1000 + 7) == 0x5007);
	}
	SUBCASE("non-canonical addresses")
	{
		fails(m, p, 0x0000800000000000ull, "0x800000000000 is not a canonical address");
		fails(m, p, 0xffff7fffffffffffull, "is not a canonical address");
		fails(m, p, 0x1234000040000000ull, "is not a canonical address");
	}
}

TEST_CASE("32-bit paging: quanta's identity map with 4 KiB pages")
{
	for (std::uint64_t mib : { 2, 4, 8 }) {
		CAPTURE(mib);
		GuestMemory m(mib * kMiB);
		PagingState p = paging(PagingState::Kind::Legacy32, identity(m, PagingKind::Legacy32, PageSize::Size4K).cr3);
		for (std::uint64_t va : { std::uint64_t{ 0 }, std::uint64_t{ 0x400 }, std::uint64_t{ 0x3ff000 } % (mib * kMiB),
					  mib * kMiB - 1 })
			CHECK(ok(m, p, va) == va);
		// 2 MiB: the rest of the first page table is empty; 4 and 8 MiB end
		// on a page-directory boundary.
		fails(m, p, mib * kMiB,
		      mib == 2 ? "(page-table entry not present)" : "(page-directory entry not present)");
		fails(m, p, 0xffffffff, "0xffffffff is not mapped (page-directory entry not present)");
		// Linear addresses are 32-bit: the upper half is dropped.
		CHECK(ok(m, p, 0x100001234ull) == 0x1234);
	}
}

// Hand-built 32-bit tables in 8 MiB: PD 0x10000, PT 0x11000.
TEST_CASE("32-bit paging: hand-built 4 KiB and 4 MiB (PSE) pages")
{
	GuestMemory m(8 * kMiB);
	const std::uint32_t pd = 0x10000, pt = 0x11000;
	set32(m, pd + 0 * 4, pt | kP);
	set32(m, pd + 1 * 4, 0x400000 | kP | pte::kLarge); // a 4 MiB page (with PSE)
	set32(m, pd + 2 * 4, 0x12000 | kP | pte::kLarge);  // PS, but a table without PSE
	set32(m, pd + 3 * 4, 0xc00000 | kP | pte::kLarge); // 4 MiB page past memory
	set32(m, pd + 4 * 4, 0xfffff000u | kP);            // table outside memory
	set32(m, pt + 5 * 4, 0x7000 | kP);
	set32(m, pt + 6 * 4, 0x900000 | kP); // past memory
	set32(m, 0x12000 + 1 * 4, 0x3000 | kP);

	SUBCASE("with CR4.PSE")
	{
		PagingState p = paging(PagingState::Kind::Legacy32, pd, true);
		CHECK(ok(m, p, 0x5000) == 0x7000);
		CHECK(ok(m, p, 0x5ffe) == 0x7ffe);
		CHECK(ok(m, p, 0x400000) == 0x400000);
		CHECK(ok(m, p, 0x7fffff) == 0x7fffff);
		// PS with PSE: a 4 MiB page at 0x12000 & 0xffc00000 = 0.
		CHECK(ok(m, p, 0x812345) == 0x12345);
		fails(m, p, 0xc00000, "maps to guest-physical 0xc00000, past the end of memory (0x800000)");
		fails(m, p, 0x6000, "0x6000 maps to guest-physical 0x900000, past the end of memory");
		fails(m, p, 0x4000, "0x4000 is not mapped (page-table entry not present)");
		fails(m, p, 0x1400000, "0x1400000 is not mapped (page-directory entry not present)");
		fails(m, p, 0x1000000, "page-table entry at 0xfffff000 lies outside guest memory");
		fails(m, paging(PagingState::Kind::Legacy32, 0x800000, true), 0,
		      "page-directory entry at 0x800000 lies outside guest memory");
	}
	SUBCASE("without CR4.PSE the PS bit is ignored")
	{
		PagingState p = paging(PagingState::Kind::Legacy32, pd, false);
		CHECK(ok(m, p, 0x801abc) == 0x3abc);
		CHECK(ok(m, p, 0x5000) == 0x7000);
		// 0x400000 points at "table" 0x400000, which is all zeros.
		fails(m, p, 0x400000, "(page-table entry not present)");
	}
}

TEST_CASE("PAE: quanta's identity map with 2 MiB pages")
{
	for (std::uint64_t mib : { 2, 4, 8 }) {
		CAPTURE(mib);
		GuestMemory m(mib * kMiB);
		PagingState p = paging(PagingState::Kind::Pae, identity(m, PagingKind::Pae, PageSize::Size2M).cr3);
		for (std::uint64_t va : { std::uint64_t{ 0 }, std::uint64_t{ 0x400 }, mib * kMiB - 1 })
			CHECK(ok(m, p, va) == va);
		fails(m, p, mib * kMiB, "(page-directory entry not present)");
		fails(m, p, 0x40000000, "0x40000000 is not mapped (PDPT entry not present)");
		fails(m, p, 0xffffffff, "(PDPT entry not present)");
		CHECK(ok(m, p, 0x100000400ull) == 0x400);
	}
}

// Hand-built PAE tables in 4 MiB: PDPT 0x10020 (32-byte aligned), PD
// 0x11000, PT 0x12000.
TEST_CASE("PAE: hand-built 4 KiB and 2 MiB pages")
{
	GuestMemory m(4 * kMiB);
	const std::uint64_t pdpt = 0x10020, pd = 0x11000, pt = 0x12000;
	set64(m, pdpt + 1 * 8, pd | pte::kPresent);
	set64(m, pdpt + 2 * 8, 0x100000000ull | pte::kPresent); // directory outside memory
	set64(m, pd + 0 * 8, pt | kP);
	set64(m, pd + 1 * 8, 0x200000 | kP | pte::kLarge);
	set64(m, pd + 2 * 8, 0x400000 | kP | pte::kLarge); // past memory
	set64(m, pt + 1 * 8, 0x9000 | kP);
	PagingState p = paging(PagingState::Kind::Pae, pdpt);

	CHECK(ok(m, p, 0x40001000) == 0x9000);
	CHECK(ok(m, p, 0x40001fff) == 0x9fff);
	CHECK(ok(m, p, 0x40200000) == 0x200000);
	CHECK(ok(m, p, 0x403fffff) == 0x3fffff);
	fails(m, p, 0x40400000, "maps to guest-physical 0x400000, past the end of memory (0x400000)");
	fails(m, p, 0x00001000, "(PDPT entry not present)");
	fails(m, p, 0x40600000, "(page-directory entry not present)");
	fails(m, p, 0x40002000, "(page-table entry not present)");
	fails(m, p, 0x80000000, "page-directory entry at 0x100000000 lies outside guest memory");
	// The low 5 bits of CR3 are not part of the PDPT address.
	CHECK(ok(m, paging(PagingState::Kind::Pae, pdpt | 0x18), 0x40001000) == 0x9000);
}

TEST_CASE("paging state from the special registers")
{
	kvm_sregs s{};
	s.cr3 = 0x1f4000;
	CHECK(PagingState::fromSregs(s).kind == PagingState::Kind::None);
	s.cr0 = 1; // PE only
	CHECK(PagingState::fromSregs(s).kind == PagingState::Kind::None);
	s.cr0 = 0x80000001;
	CHECK(PagingState::fromSregs(s).kind == PagingState::Kind::Legacy32);
	s.cr4 = 1u << 4;
	CHECK(PagingState::fromSregs(s).pse);
	s.cr4 = 1u << 5;
	CHECK(PagingState::fromSregs(s).kind == PagingState::Kind::Pae);
	CHECK_FALSE(PagingState::fromSregs(s).pse);
	s.efer = (1u << 8) | (1u << 10); // LME | LMA
	PagingState state = PagingState::fromSregs(s);
	CHECK(state.kind == PagingState::Kind::Long);
	CHECK(state.cr3 == 0x1f4000);
}

} // namespace quanta
