// What a fault in a guest's first instructions most likely means. A guest
// that faults before it has done anything is rarely broken code: either it
// was started in the wrong CPU mode (a 16-bit flat image starts in long
// mode unless told otherwise) or this host's KVM cannot run that mode at
// all (kvm_pvm cannot run 32-bit paging). Pure: unit-tested in
// tests/unit/test_fault_hint.cpp; Machine runs the mode probe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "boot/Boot.h"
#include "boot/Image.h"
#include "memory/Layout.h"

namespace quanta {

// The guest as it was booted, and where it faulted.
struct FaultFacts {
	ImageFormat format = ImageFormat::Flat;
	CpuMode mode = CpuMode::Long;
	PageSize pageSize = PageSize::Size4K;
	bool modeGiven = false; // --mode (or the experiment's mode), not the default
	bool hvt = false;       // a Solo5 unikernel: its own boot, no hints
	std::uint64_t entry = 0;
	std::uint64_t exits = 0;          // the VM's exits, the fault's included
	std::optional<std::uint64_t> rip; // unknown when the registers could not be read
};

// "paged 4K (32-bit paging)": a mode as --kvm-check names it.
std::string modeLabel(CpuMode mode, PageSize pageSize);

// The fault was the guest's first exit: worth asking whether the host's
// KVM can run its mode at all (a probe in that mode).
bool worthModeProbe(const FaultFacts &facts);

// The likely cause in the image's own terms ("flat images start in long
// mode; ..."), or empty when there is no likely cause.
std::string imageHint(const FaultFacts &facts);

// The whole diagnosis when a probe in the guest's mode failed as well:
// the host is the cause, and the sandbox the way out. `fault` is the
// guest's own diagnosis.
std::string hostCannotRunMessage(const FaultFacts &facts, const std::string &fault);

} // namespace quanta
