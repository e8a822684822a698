// Per-VM exit counters by reason and by port. The scheduler's report and
// the assignment's HC_numExits / HC_numExitsByType read the same numbers.
#pragma once

#include <cstdint>
#include <map>

namespace quanta {

struct PortCount {
	std::uint64_t in = 0;
	std::uint64_t out = 0;
};

struct ExitStats {
	// Exits the guest caused (I/O, HLT, MMIO, faults). Host preemption
	// kicks are counted apart, so a guest's own count does not depend on
	// how it was scheduled.
	std::uint64_t guestExits = 0;
	std::uint64_t ioIn = 0;
	std::uint64_t ioOut = 0;
	std::uint64_t hlt = 0;
	std::uint64_t mmio = 0;
	std::uint64_t shutdown = 0;
	std::uint64_t failEntry = 0;
	std::uint64_t internalError = 0;
	std::uint64_t other = 0;
	std::uint64_t interrupts = 0; // KVM_RUN ended by a host signal
	std::map<std::uint16_t, PortCount> byPort;
};

} // namespace quanta
