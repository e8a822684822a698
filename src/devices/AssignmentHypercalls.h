// The CS695 assignment's hypercalls, by default on ports 0xEA-0xEF (see
// docs/guest-abi.md). HC_print8bit is the serial port 0xE9. The course fixes
// only 0xE9, and students' solutions put the other calls on ports of their
// own: --hypercall-ports moves each call, so a class's guests that differ
// only in port numbers run unchanged.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "devices/ExitStats.h"
#include "devices/GuestContext.h"
#include "devices/PortBus.h"

namespace quanta {

// The calls, each on a port of its own (OUT calls take a 4-byte value, IN
// calls return one). HC_gvaToHva is two: OUT of the address, IN of the result.
enum class AssignmentCall {
	PrintStr,    // OUT: pointer to a NUL-terminated string
	Print32,     // OUT: value, printed in decimal
	NumExits,    // IN: exits so far
	ExitsByType, // IN: pointer to text
	Gva,         // OUT: the address HC_gvaToHva translates
	Hva,         // IN: its host address
};
inline constexpr std::size_t kAssignmentCallCount = 6;

// Names in --hypercall-ports and experiment files: printStr, print32bit,
// numExits, numExitsByType, gvaToHva (its OUT port), gvaToHva.in.
std::string_view assignmentCallName(AssignmentCall call);
std::optional<AssignmentCall> parseAssignmentCall(std::string_view name);
bool isOutCall(AssignmentCall call);

struct AssignmentPorts {
	std::array<std::uint16_t, kAssignmentCallCount> port{ 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xEF };

	std::uint16_t of(AssignmentCall call) const { return port[static_cast<std::size_t>(call)]; }
	void set(AssignmentCall call, std::uint16_t value) { port[static_cast<std::size_t>(call)] = value; }
	bool operator==(const AssignmentPorts &) const = default;
};

// Why these ports cannot work (two OUT or two IN calls on one port, a port
// of another device), or "" when they can.
std::string checkAssignmentPorts(const AssignmentPorts &ports);

class AssignmentHypercalls {
public:
	// scratch: the reserved area the exits-by-type text is written to;
	// stats: the VM's exit counters, which HC_numExits* report.
	AssignmentHypercalls(GuestContext &guest, const ExitStats &stats, GuestPhysAddr scratch,
			     const AssignmentPorts &ports = {});
	~AssignmentHypercalls();
	AssignmentHypercalls(const AssignmentHypercalls &) = delete;
	AssignmentHypercalls &operator=(const AssignmentHypercalls &) = delete;

	// Registers one device per port on the bus (ports checked already).
	void attachTo(PortBus &bus);

	// One call: OUT calls take value, IN calls return the result.
	std::uint32_t call(AssignmentCall call, std::uint32_t value);

	// Reads a NUL-terminated string at a guest pointer, page by page,
	// stopping at QUANTA_MAX_STRING or an unmapped page (a warning says so).
	std::string readString(std::uint64_t pointer);

private:
	class Port;

	std::uint32_t exitsByType();
	std::uint32_t gvaToHva();

	GuestContext &guest_;
	const ExitStats &stats_;
	GuestPhysAddr scratch_;
	AssignmentPorts ports_;
	std::vector<std::unique_ptr<Port>> devices_;
	std::uint32_t nextSlot_ = 0;
	std::uint32_t pendingGva_ = 0;
};

} // namespace quanta
