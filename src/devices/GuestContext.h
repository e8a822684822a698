// What a device that works on the guest's behalf (hypercalls, files,
// channels) may ask of its VM, and nothing more: memory through checked
// accessors, pointer translation with the guest's paging state, and the
// VM's console and log.
#pragma once

#include <cstdint>
#include <string_view>

#include "memory/GuestMemory.h"
#include "memory/PageWalk.h"

namespace quanta {

class GuestContext {
public:
	virtual ~GuestContext() = default;

	virtual GuestMemory &memory() = 0;
	// A guest pointer (segment-relative in real and protected mode) to a
	// guest-physical address, through the vCPU's current page tables.
	virtual Translation translatePointer(std::uint64_t pointer) = 0;
	// What translatePointer adds to a pointer before paging: the DS base
	// outside long mode, 0 in long mode.
	virtual std::uint64_t pointerBase() = 0;
	// Text as this VM's console output.
	virtual void print(std::string_view text) = 0;
	// False while the console takes no output (stdout is slow or closed):
	// a call that prints returns Blocked instead, and the VM parks.
	virtual bool canPrint() const { return true; }
	// One diagnostic line on stderr naming the VM.
	virtual void warn(std::string_view text) = 0;
	// Nanoseconds since the VM was created.
	virtual std::int64_t uptimeNs() const = 0;
};

} // namespace quanta
