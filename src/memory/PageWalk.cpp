#include "memory/PageWalk.h"

#include <fmt/format.h>

namespace quanta {

namespace {

constexpr std::uint64_t kPresent = 1u << 0;
constexpr std::uint64_t kLarge = 1u << 7;
constexpr std::uint64_t kAddrMask = 0x000ffffffffff000ull;

struct Walker {
	const GuestMemory &memory;
	std::uint64_t linear;
	std::string error;

	template <typename Entry>
	std::optional<std::uint64_t> entry(std::uint64_t table, std::uint64_t index, const char *level)
	{
		std::uint64_t at = table + index * sizeof(Entry);
		auto value = memory.load<Entry>(gpa(at));
		if (!value) {
			error = fmt::format("{} entry at {:#x} lies outside guest memory", level, at);
			return std::nullopt;
		}
		if (!(*value & kPresent)) {
			error = fmt::format("{:#x} is not mapped ({} entry not present)", linear, level);
			return std::nullopt;
		}
		return std::uint64_t{ *value };
	}
};

std::optional<std::uint64_t> walkLegacy32(Walker &w, const PagingState &p)
{
	auto pde = w.entry<std::uint32_t>(p.cr3 & 0xfffff000, (w.linear >> 22) & 1023, "page-directory");
	if (!pde)
		return std::nullopt;
	if (p.pse && (*pde & kLarge))
		return (*pde & 0xffc00000) | (w.linear & 0x3fffff);
	auto pte = w.entry<std::uint32_t>(*pde & 0xfffff000, (w.linear >> 12) & 1023, "page-table");
	if (!pte)
		return std::nullopt;
	return (*pte & 0xfffff000) | (w.linear & 0xfff);
}

// The levels below the PDPT are the same for PAE and long mode.
std::optional<std::uint64_t> walkFromPdpte(Walker &w, std::uint64_t pdpte, bool allow1G)
{
	if (allow1G && (pdpte & kLarge))
		return (pdpte & 0x000fffffc0000000ull) | (w.linear & 0x3fffffff);
	auto pde = w.entry<std::uint64_t>(pdpte & kAddrMask, (w.linear >> 21) & 511, "page-directory");
	if (!pde)
		return std::nullopt;
	if (*pde & kLarge)
		return (*pde & 0x000fffffffe00000ull) | (w.linear & 0x1fffff);
	auto pte = w.entry<std::uint64_t>(*pde & kAddrMask, (w.linear >> 12) & 511, "page-table");
	if (!pte)
		return std::nullopt;
	return (*pte & kAddrMask) | (w.linear & 0xfff);
}

std::optional<std::uint64_t> walkPae(Walker &w, const PagingState &p)
{
	auto pdpte = w.entry<std::uint64_t>(p.cr3 & 0xffffffe0, (w.linear >> 30) & 3, "PDPT");
	if (!pdpte)
		return std::nullopt;
	return walkFromPdpte(w, *pdpte, false);
}

std::optional<std::uint64_t> walkLong(Walker &w, const PagingState &p)
{
	// Non-canonical addresses fault on real hardware; refuse them too.
	std::int64_t sign = static_cast<std::int64_t>(w.linear) >> 47;
	if (sign != 0 && sign != -1) {
		w.error = fmt::format("{:#x} is not a canonical address", w.linear);
		return std::nullopt;
	}
	auto pml4e = w.entry<std::uint64_t>(p.cr3 & kAddrMask, (w.linear >> 39) & 511, "PML4");
	if (!pml4e)
		return std::nullopt;
	auto pdpte = w.entry<std::uint64_t>(*pml4e & kAddrMask, (w.linear >> 30) & 511, "PDPT");
	if (!pdpte)
		return std::nullopt;
	return walkFromPdpte(w, *pdpte, true);
}

} // namespace

PagingState PagingState::fromSregs(const kvm_sregs &sregs)
{
	PagingState state;
	state.cr3 = sregs.cr3;
	state.pse = (sregs.cr4 & (1u << 4)) != 0;
	bool paging = (sregs.cr0 & (1ull << 31)) != 0;
	if (!paging)
		state.kind = Kind::None;
	else if (sregs.efer & (1u << 10))
		state.kind = Kind::Long;
	else if (sregs.cr4 & (1u << 5))
		state.kind = Kind::Pae;
	else
		state.kind = Kind::Legacy32;
	return state;
}

Translation translate(const GuestMemory &memory, const PagingState &paging, std::uint64_t linear)
{
	Walker walker{ memory, linear, {} };
	std::optional<std::uint64_t> physical;
	switch (paging.kind) {
	case PagingState::Kind::None:
		physical = linear;
		break;
	case PagingState::Kind::Legacy32:
		walker.linear &= 0xffffffff;
		physical = walkLegacy32(walker, paging);
		break;
	case PagingState::Kind::Pae:
		walker.linear &= 0xffffffff;
		physical = walkPae(walker, paging);
		break;
	case PagingState::Kind::Long:
		physical = walkLong(walker, paging);
		break;
	}
	if (!physical)
		return { std::nullopt, walker.error };
	if (*physical >= memory.size())
		return { std::nullopt, fmt::format("{:#x} maps to guest-physical {:#x}, past the end of memory ({:#x})",
						   linear, *physical, memory.size()) };
	return { gpa(*physical), {} };
}

} // namespace quanta
