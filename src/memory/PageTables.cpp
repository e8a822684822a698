#include "memory/PageTables.h"

#include <fmt/format.h>

#include "base/Error.h"

namespace quanta {

namespace {

constexpr std::uint64_t kPage = 0x1000;
constexpr std::uint64_t k2M = 0x200000;
constexpr std::uint64_t k1G = 0x40000000;
constexpr std::uint64_t kTableFlags = pte::kPresent | pte::kWritable | pte::kUser;

// Hands out zeroed, page-aligned table pages from the reserved area.
class TableAllocator {
public:
	TableAllocator(GuestMemory &memory, GuestPhysAddr area, std::uint64_t bytes)
		: memory_(memory), next_(raw(area)), end_(raw(area) + bytes)
	{
		if (raw(area) % kPage)
			throw UsageError("page-table area is not page aligned");
	}

	std::uint64_t allocate()
	{
		if (next_ + kPage > end_)
			throw UsageError("page tables do not fit in the reserved area");
		std::uint64_t page = next_;
		next_ += kPage;
		if (!memory_.fill(gpa(page), kPage, 0))
			throw UsageError("page-table area lies outside guest memory");
		return page;
	}

	std::uint64_t used(GuestPhysAddr area) const { return next_ - raw(area); }

private:
	GuestMemory &memory_;
	std::uint64_t next_;
	std::uint64_t end_;
};

template <typename Entry>
void setEntry(GuestMemory &memory, std::uint64_t table, std::uint64_t index, std::uint64_t value)
{
	if (!memory.store<Entry>(gpa(table + index * sizeof(Entry)), static_cast<Entry>(value)))
		throw UsageError("page-table entry outside guest memory");
}

std::uint64_t pageCount(std::uint64_t bytes, std::uint64_t pageBytes)
{
	return (bytes + pageBytes - 1) / pageBytes;
}

PagingResult buildLong(GuestMemory &memory, TableAllocator &alloc, PageSize pageSize,
		       std::uint64_t mapped, GuestPhysAddr area)
{
	// One PML4 and one PDPT cover 512 GiB; a PD covers 1 GiB with 2 MiB
	// pages. With 4 KiB pages the page tables run out long before 1 GiB.
	std::uint64_t pml4 = alloc.allocate();
	std::uint64_t pdpt = alloc.allocate();
	setEntry<std::uint64_t>(memory, pml4, 0, pdpt | kTableFlags);

	if (pageSize == PageSize::Size2M) {
		std::uint64_t pd = 0;
		for (std::uint64_t i = 0; i < pageCount(mapped, k2M); ++i) {
			if (i % 512 == 0) {
				pd = alloc.allocate();
				setEntry<std::uint64_t>(memory, pdpt, i / 512, pd | kTableFlags);
			}
			setEntry<std::uint64_t>(memory, pd, i % 512, (i * k2M) | kTableFlags | pte::kLarge);
		}
	} else {
		if (mapped > k1G)
			throw UsageError("long-mode identity map with 4 KiB pages limited to 1 GiB");
		std::uint64_t pd = alloc.allocate();
		setEntry<std::uint64_t>(memory, pdpt, 0, pd | kTableFlags);
		std::uint64_t pages = pageCount(mapped, kPage);
		for (std::uint64_t t = 0; t < pageCount(pages, 512); ++t) {
			std::uint64_t pt = alloc.allocate();
			setEntry<std::uint64_t>(memory, pd, t, pt | kTableFlags);
			for (std::uint64_t i = 0; i < 512 && t * 512 + i < pages; ++i)
				setEntry<std::uint64_t>(memory, pt, i,
							((t * 512 + i) * kPage) | kTableFlags);
		}
	}
	return { pml4, alloc.used(area) };
}

PagingResult buildLegacy32(GuestMemory &memory, TableAllocator &alloc, std::uint64_t mapped,
			   GuestPhysAddr area)
{
	std::uint64_t pd = alloc.allocate();
	std::uint64_t pages = pageCount(mapped, kPage);
	for (std::uint64_t t = 0; t < pageCount(pages, 1024); ++t) {
		std::uint64_t pt = alloc.allocate();
		setEntry<std::uint32_t>(memory, pd, t, pt | kTableFlags);
		for (std::uint64_t i = 0; i < 1024 && t * 1024 + i < pages; ++i)
			setEntry<std::uint32_t>(memory, pt, i, ((t * 1024 + i) * kPage) | kTableFlags);
	}
	return { pd, alloc.used(area) };
}

PagingResult buildPae(GuestMemory &memory, TableAllocator &alloc, std::uint64_t mapped,
		      GuestPhysAddr area)
{
	// PAE PDPTEs take only the present bit (R/W and U/S are reserved there);
	// four of them, a PD each, cover the 4 GiB a 32-bit guest can address.
	if (mapped > 4 * k1G)
		throw UsageError("PAE identity map limited to 4 GiB");
	std::uint64_t pdpt = alloc.allocate();
	std::uint64_t pd = 0;
	for (std::uint64_t i = 0; i < pageCount(mapped, k2M); ++i) {
		if (i % 512 == 0) {
			pd = alloc.allocate();
			setEntry<std::uint64_t>(memory, pdpt, i / 512, pd | pte::kPresent);
		}
		setEntry<std::uint64_t>(memory, pd, i % 512, (i * k2M) | kTableFlags | pte::kLarge);
	}
	return { pdpt, alloc.used(area) };
}

} // namespace

std::uint64_t identityMapLimit(PagingKind kind, PageSize pageSize, std::uint64_t areaBytes)
{
	std::uint64_t pages = areaBytes / kPage;
	auto spare = [&](std::uint64_t fixed) { return pages > fixed ? pages - fixed : 0; };
	switch (kind) {
	case PagingKind::Long4Level:
		// PML4 + PDPT (+ one PD for 4 KiB pages), then PTs or PDs.
		if (pageSize == PageSize::Size4K)
			return std::min(spare(3) * 512 * kPage, k1G);
		return spare(2) * k1G;
	case PagingKind::Legacy32:
		return pageSize == PageSize::Size4K ? std::min(spare(1) * 1024 * kPage, 4 * k1G) : 0;
	case PagingKind::Pae:
		return pageSize == PageSize::Size2M ? std::min(spare(1), std::uint64_t{ 4 }) * k1G : 0;
	}
	return 0;
}

PagingResult buildIdentityPaging(GuestMemory &memory, PagingKind kind, PageSize pageSize,
				 std::uint64_t mappedBytes, GuestPhysAddr area,
				 std::uint64_t areaBytes)
{
	TableAllocator alloc(memory, area, areaBytes);
	switch (kind) {
	case PagingKind::Long4Level:
		return buildLong(memory, alloc, pageSize, mappedBytes, area);
	case PagingKind::Legacy32:
		if (pageSize != PageSize::Size4K)
			throw UsageError("32-bit legacy paging has no 2 MiB pages (use PAE)");
		return buildLegacy32(memory, alloc, mappedBytes, area);
	case PagingKind::Pae:
		if (pageSize != PageSize::Size2M)
			throw UsageError("PAE paging is built with 2 MiB pages only");
		return buildPae(memory, alloc, mappedBytes, area);
	}
	throw UsageError("unknown paging kind");
}

} // namespace quanta
