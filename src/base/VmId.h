// Two ways to name a VM that must not be mixed up: its 0-based index in the
// run (scheduler, channels, console, vectors) and its 1-based guest ID, the
// position in -g that users see (.local<ID> files). Converting is explicit.
#pragma once

#include <compare>
#include <cstddef>

namespace quanta {

struct GuestId {
	unsigned value; // 1, 2, ...
	auto operator<=>(const GuestId &) const = default;
};

struct VmIndex {
	std::size_t value; // 0, 1, ...
	auto operator<=>(const VmIndex &) const = default;

	GuestId guestId() const { return GuestId{ static_cast<unsigned>(value + 1) }; }
};

} // namespace quanta
