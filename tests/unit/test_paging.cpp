#include <cstdint>
#include <doctest/doctest.h>
#include <optional>

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
