// The CS695 assignment's hypercalls on ports 0xEA-0xEF (the ABI is fixed so
// that guests written for the assignment run unchanged; see
// docs/guest-abi.md). HC_print8bit is the serial port 0xE9.
#pragma once

#include <string>

#include "devices/ExitStats.h"
#include "devices/GuestContext.h"
#include "devices/PortBus.h"

namespace quanta {

class AssignmentHypercalls : public PortDevice {
public:
	static constexpr std::uint16_t kBase = 0xEA;
	static constexpr std::uint16_t kCount = 6;

	// scratch: the reserved area the exits-by-type text is written to;
	// stats: the VM's exit counters, which HC_numExits* report.
	AssignmentHypercalls(GuestContext &guest, const ExitStats &stats, GuestPhysAddr scratch);

	IoStatus portIn(std::uint16_t offset, std::span<std::uint8_t> data) override;
	IoStatus portOut(std::uint16_t offset, std::span<const std::uint8_t> data) override;
	std::string lastError() const override { return error_; }
	// Only printing blocks, while stdout is full.
	ParkReason blockedOn() const override { return ParkReason::Output; }

	// Reads a NUL-terminated string at a guest pointer, page by page,
	// stopping at QUANTA_MAX_STRING or an unmapped page (a warning says so).
	std::string readString(std::uint64_t pointer);

private:
	std::uint32_t exitsByType();
	std::uint32_t gvaToHva();

	GuestContext &guest_;
	const ExitStats &stats_;
	GuestPhysAddr scratch_;
	std::uint32_t nextSlot_ = 0;
	std::uint32_t pendingGva_ = 0;
	std::string error_;
};

} // namespace quanta
