#include <cstdint>
#include <doctest/doctest.h>
#include <optional>
#include <string>
#include <utility>

#include "base/Error.h"
#include "memory/GuestMemory.h"
#include "memory/Layout.h"
#include "memory/PageTables.h"

using namespace quanta;

namespace {

constexpr std::uint64_t kMask = 0x000ffffffffff000ull;

// An independent walk of the built tables, written from the SDM's formats.
std::optional<std::uint64_t> walkLong(const GuestMemory &m, std::uint64_t cr3, std::uint64_t va,
				      bool *large = nullptr)
{
	auto entry = [&](std::uint64_t table, unsigned index) {
		return m.load<std::uint64_t>(gpa((table & kMask) + index * 8)).value_or(0);
	};
	std::uint64_t pml4e = entry(cr3, (va >> 39) & 511);
	if (!(pml4e & 1))
		return std::nullopt;
	std::uint64_t pdpte = entry(pml4e, (va >> 30) & 511);
	if (!(pdpte & 1))
		return std::nullopt;
	std::uint64_t pde = entry(pdpte, (va >> 21) & 511);
	if (!(pde & 1))
		return std::nullopt;
	if (pde & pte::kLarge) {
		if (large)
			*large = true;
		return (pde & 0x000fffffffe00000ull) | (va & 0x1fffff);
	}
	std::uint64_t pte = entry(pde, (va >> 12) & 511);
	if (!(pte & 1))
		return std::nullopt;
	if (large)
		*large = false;
	return (pte & kMask) | (va & 0xfff);
}

std::optional<std::uint64_t> walkLegacy32(const GuestMemory &m, std::uint64_t cr3, std::uint32_t va)
{
	auto pde = m.load<std::uint32_t>(gpa((cr3 & 0xfffff000) + (va >> 22) * 4)).value_or(0);
	if (!(pde & 1))
		return std::nullopt;
	auto pteValue = m.load<std::uint32_t>(gpa((pde & 0xfffff000) + ((va >> 12) & 1023) * 4)).value_or(0);
	if (!(pteValue & 1))
		return std::nullopt;
	return (pteValue & 0xfffff000) | (va & 0xfff);
}

std::optional<std::uint64_t> walkPae(const GuestMemory &m, std::uint64_t cr3, std::uint32_t va)
{
	auto pdpte = m.load<std::uint64_t>(gpa((cr3 & 0xffffffe0) + (va >> 30) * 8)).value_or(0);
	if (!(pdpte & 1))
		return std::nullopt;
	auto pde = m.load<std::uint64_t>(gpa((pdpte & kMask) + ((va >> 21) & 511) * 8)).value_or(0);
	if (!(pde & 1) || !(pde & pte::kLarge))
		return std::nullopt;
	return (pde & 0x000fffffffe00000ull) | (va & 0x1fffff);
}

constexpr const char *kPagingHashes =
	"11852480544052075237\n"
	"5379622667445651890\n"
	"9457156588330110133\n"
	"6311170072959485748\n"
	"8570182971741370469\n"
	"6272192079809545461\n"
	"15226873184997575317\n"
	"1624171284559575251\n"
	"16985537013286892853\n"
	"6444077078381707893\n"
	"18153716697208243925\n"
	"7560815138777332563\n";

} // namespace

TEST_CASE("long-mode identity map covers exactly guest memory")
{
	for (std::uint64_t mib : { 2, 4, 8 }) {
		for (PageSize size : { PageSize::Size4K, PageSize::Size2M }) {
			CAPTURE(mib);
			GuestMemory memory(mib << 20);
			MemoryLayout layout{ memory.size() };
			PagingResult r = buildIdentityPaging(memory, PagingKind::Long4Level, size, memory.size(),
							     layout.pagingBase(), QUANTA_RESERVED_PAGING_SIZE);
			CHECK(r.cr3 == raw(layout.pagingBase()));
			CHECK(r.bytesUsed <= QUANTA_RESERVED_PAGING_SIZE);
			for (std::uint64_t va : { std::uint64_t{ 0 }, std::uint64_t{ 0x1000 }, std::uint64_t{ 0x1234 },
						  std::uint64_t{ 0x1fffff }, std::uint64_t{ 0x200000 },
						  std::uint64_t{ memory.size() - 1 } }) {
				if (va >= memory.size())
					continue;
				bool large = false;
				CHECK(walkLong(memory, r.cr3, va, &large) == va);
				CHECK(large == (size == PageSize::Size2M));
			}
			CHECK_FALSE(walkLong(memory, r.cr3, memory.size()));
			CHECK_FALSE(walkLong(memory, r.cr3, 1ull << 39));
		}
	}
}

TEST_CASE("4 KiB long-mode tables for 8 MiB use PML4+PDPT+PD+4 PTs")
{
	GuestMemory memory(8 << 20);
	MemoryLayout layout{ memory.size() };
	PagingResult r = buildIdentityPaging(memory, PagingKind::Long4Level, PageSize::Size4K, memory.size(),
					     layout.pagingBase(), QUANTA_RESERVED_PAGING_SIZE);
	CHECK(r.bytesUsed == 7 * 0x1000);
}

TEST_CASE("32-bit legacy paging with 4 KiB pages")
{
	GuestMemory memory(8 << 20);
	MemoryLayout layout{ memory.size() };
	PagingResult r = buildIdentityPaging(memory, PagingKind::Legacy32, PageSize::Size4K, memory.size(),
					     layout.pagingBase(), QUANTA_RESERVED_PAGING_SIZE);
	CHECK(r.bytesUsed == 3 * 0x1000);
	CHECK(walkLegacy32(memory, r.cr3, 0x1000) == 0x1000u);
	CHECK(walkLegacy32(memory, r.cr3, 0x7fffff) == 0x7fffffu);
	CHECK_FALSE(walkLegacy32(memory, r.cr3, 0x800000));
}

TEST_CASE("PAE paging with 2 MiB pages")
{
	GuestMemory memory(4 << 20);
	MemoryLayout layout{ memory.size() };
	PagingResult r = buildIdentityPaging(memory, PagingKind::Pae, PageSize::Size2M, memory.size(),
					     layout.pagingBase(), QUANTA_RESERVED_PAGING_SIZE);
	CHECK(r.cr3 % 32 == 0);
	CHECK(walkPae(memory, r.cr3, 0x3fffff) == 0x3fffffu);
	CHECK_FALSE(walkPae(memory, r.cr3, 0x400000));
}

TEST_CASE("impossible combinations and overflowing areas are refused")
{
	GuestMemory memory(2 << 20);
	MemoryLayout layout{ memory.size() };
	CHECK_THROWS_AS(buildIdentityPaging(memory, PagingKind::Legacy32, PageSize::Size2M, memory.size(),
					    layout.pagingBase(), QUANTA_RESERVED_PAGING_SIZE),
			UsageError);
	CHECK_THROWS_AS(buildIdentityPaging(memory, PagingKind::Long4Level, PageSize::Size4K, memory.size(),
					    layout.pagingBase(), 0x2000),
			UsageError);
	// An area that runs off the end of memory.
	CHECK_THROWS_AS(buildIdentityPaging(memory, PagingKind::Long4Level, PageSize::Size2M, memory.size(),
					    gpa(memory.size() - 0x1000), 0x10000),
			UsageError);
}

TEST_CASE("identityMapLimit is exactly what the builder maps in the reserved area")
{
	struct Case {
		PagingKind kind;
		PageSize size;
		std::uint64_t limit;
	};
	for (Case c : { Case{ PagingKind::Long4Level, PageSize::Size4K, 18ull << 20 },
			Case{ PagingKind::Long4Level, PageSize::Size2M, 10ull << 30 },
			Case{ PagingKind::Legacy32, PageSize::Size4K, 44ull << 20 },
			Case{ PagingKind::Pae, PageSize::Size2M, 4ull << 30 } }) {
		CAPTURE(static_cast<int>(c.kind));
		CAPTURE(static_cast<int>(c.size));
		CHECK(identityMapLimit(c.kind, c.size, QUANTA_RESERVED_PAGING_SIZE) == c.limit);
		// Guest memory is mapped lazily, so even 10 GiB costs only the
		// pages the tables touch.
		std::uint64_t step = c.size == PageSize::Size2M ? 2ull << 20 : 4096;
		GuestMemory memory(c.limit + step);
		MemoryLayout layout{ c.limit };
		PagingResult r = buildIdentityPaging(memory, c.kind, c.size, c.limit, layout.pagingBase(),
						     QUANTA_RESERVED_PAGING_SIZE);
		CHECK(r.bytesUsed <= QUANTA_RESERVED_PAGING_SIZE);
		for (std::uint64_t va : { std::uint64_t{ 0x1234 }, c.limit / 2 + 0x123, c.limit - 1 }) {
			CAPTURE(va);
			if (c.kind == PagingKind::Long4Level)
				CHECK(walkLong(memory, r.cr3, va) == va);
			else if (c.kind == PagingKind::Legacy32)
				CHECK(walkLegacy32(memory, r.cr3, static_cast<std::uint32_t>(va)) == va);
			else
				CHECK(walkPae(memory, r.cr3, static_cast<std::uint32_t>(va)) == va);
		}
		if (c.kind == PagingKind::Long4Level)
			CHECK_FALSE(walkLong(memory, r.cr3, c.limit));
		// One page more does not fit.
		CHECK_THROWS_AS(buildIdentityPaging(memory, c.kind, c.size, c.limit + step, layout.pagingBase(),
						    QUANTA_RESERVED_PAGING_SIZE),
				UsageError);
	}
}

// The tables for the sizes quanta always had (2, 4 and 8 MiB) are the same
// bytes as before larger sizes were added (FNV-1a of the paging area,
// recorded from the builder at 697785b).
TEST_CASE("page tables for 2, 4 and 8 MiB are unchanged")
{
	auto fnv = [](const GuestMemory &memory, GuestPhysAddr base) {
		std::uint64_t hash = 0xcbf29ce484222325ull;
		for (std::uint64_t i = 0; i < QUANTA_RESERVED_PAGING_SIZE; ++i)
			hash = (hash ^ memory.load<std::uint8_t>(gpa(raw(base) + i)).value_or(0)) * 0x100000001b3ull;
		return hash;
	};
	std::string text;
	for (std::uint64_t mib : { 2, 4, 8 })
		for (auto [kind, size] : { std::pair{ PagingKind::Long4Level, PageSize::Size4K },
					   std::pair{ PagingKind::Long4Level, PageSize::Size2M },
					   std::pair{ PagingKind::Legacy32, PageSize::Size4K },
					   std::pair{ PagingKind::Pae, PageSize::Size2M } }) {
			GuestMemory memory(mib << 20);
			MemoryLayout layout{ memory.size() };
			PagingResult r = buildIdentityPaging(memory, kind, size, memory.size(), layout.pagingBase(),
							     QUANTA_RESERVED_PAGING_SIZE);
			text += std::to_string(fnv(memory, layout.pagingBase()) ^ r.cr3 ^ r.bytesUsed) + "\n";
		}
	CHECK(text == kPagingHashes);
}
