// Builds identity-mapped page tables for the guest: 4-level long mode paging,
// classic 2-level 32-bit paging (4 KiB pages) or PAE (2 MiB pages). Pure: it
// only writes into GuestMemory, so it is unit-tested without KVM.
#pragma once

#include <cstdint>

#include "memory/GuestMemory.h"
#include "memory/Layout.h"

namespace quanta {

enum class PagingKind {
	Long4Level,
	Legacy32,
	Pae
};

struct PagingResult {
	std::uint64_t cr3;
	std::uint64_t bytesUsed; // of the area given to the builder
};

// Page-table entry bits shared by all formats.
namespace pte {
inline constexpr std::uint64_t kPresent = 1u << 0;
inline constexpr std::uint64_t kWritable = 1u << 1;
inline constexpr std::uint64_t kUser = 1u << 2;
inline constexpr std::uint64_t kLarge = 1u << 7; // PS: 2 MiB / 4 MiB page
} // namespace pte

// The most memory an identity map of this kind can cover with its tables in
// areaBytes (tables are whole pages). 4 KiB pages need a page table per
// 2 MiB (4 MiB in 32-bit paging); 2 MiB pages a directory per GiB.
std::uint64_t identityMapLimit(PagingKind kind, PageSize pageSize, std::uint64_t areaBytes);

// Maps [0, mappedBytes) 1:1 with pages of the given size, writing tables
// into [area, area + areaBytes). Throws UsageError if it does not fit or the
// combination is impossible (Legacy32 has no 2 MiB pages, Pae no 4 KiB here).
PagingResult buildIdentityPaging(GuestMemory &memory, PagingKind kind, PageSize pageSize,
				 std::uint64_t mappedBytes, GuestPhysAddr area,
				 std::uint64_t areaBytes);

} // namespace quanta
