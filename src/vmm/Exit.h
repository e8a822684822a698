// Exit handling as a function of values, as Firecracker's handle_kvm_exit:
// what one KVM_RUN returned goes in, an ExitOutcome comes out, and the only
// state touched is the VM's devices and exit counters. No /dev/kvm needed:
// tests hand in a synthetic kvm_run and data area.
#pragma once

#include <linux/kvm.h>
#include <span>

#include "kvm/ExitOutcome.h"
#include "vmm/VmDevices.h"

namespace quanta {

// One KVM_RUN as values.
struct KvmExit {
	int runResult = 0; // what KVM_RUN returned: 0, or -errno
	const kvm_run &run;
	// The port I/O data area (KVM puts it in the kvm_run page at
	// run.io.data_offset); IN writes into it. KVM_EXIT_IO only.
	std::span<std::uint8_t> ioData;
};

// Counts the exit and handles it. A Fault's diagnosis says what went wrong
// but not where: the caller, which has the registers, adds the rip.
ExitOutcome handleExit(const KvmExit &exit, VmDevices &devices);

// Completes a port exit that parked (once woken): dispatched again from
// the element that blocked, and not counted a second time.
ExitOutcome retryExit(const KvmExit &exit, VmDevices &devices);

} // namespace quanta
