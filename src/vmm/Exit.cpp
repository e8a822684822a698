#include "vmm/Exit.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace quanta {

namespace {

ExitOutcome interrupted(ExitStats &stats)
{
	++stats.interrupts;
	return { ExitAction::Interrupted };
}

ExitOutcome mmio(const kvm_run &run, const VmDevices &devices)
{
	const char *what = run.mmio.is_write ? "write" : "read";
	// An hvt guest writing to its own read-only (write-protected) kernel
	// memory: solo5-hvt's words for it.
	if (devices.hvt() && run.mmio.phys_addr < devices.memoryBytes())
		return ExitOutcome::fault(fmt::format("KVM: host/guest translation fault: {} of {} bytes at {:#x} "
						      "(read-only kernel memory)",
						      what, run.mmio.len, run.mmio.phys_addr));
	// KVM maps all of memory, so only an address outside it can exit here;
	// quanta has no MMIO devices to hand an exit inside memory to.
	if (run.mmio.phys_addr < devices.memoryBytes())
		return ExitOutcome::fault(fmt::format("MMIO inside memory (no MMIO devices): {} of {} bytes at "
						      "guest-physical {:#x}",
						      what, run.mmio.len, run.mmio.phys_addr));
	return ExitOutcome::fault(fmt::format("MMIO outside memory: {} of {} bytes at guest-physical {:#x}", what,
					      run.mmio.len, run.mmio.phys_addr));
}

} // namespace

ExitOutcome retryExit(const KvmExit &exit, VmDevices &devices)
{
	const KvmIoExit &io = exit.run.io;
	PortBus::Result result = devices.bus().dispatch(io, exit.ioData);
	switch (result.status) {
	case IoStatus::Done:
		return { ExitAction::Continue };
	case IoStatus::Blocked:
		return ExitOutcome::park(result.parkReason);
	case IoStatus::Yield:
		return { ExitAction::Yield };
	case IoStatus::Stop:
		return ExitOutcome::exit(result.stopStatus);
	case IoStatus::Error:
		break;
	}
	const char *direction = io.direction == KVM_EXIT_IO_OUT ? "out" : "in";
	std::string access = fmt::format("port {:#x} ({}, {} byte{})", io.port, direction, io.size, io.size == 1 ? "" : "s");
	if (result.unknownPort)
		return ExitOutcome::fault("unknown " + access);
	return ExitOutcome::fault(fmt::format("{}: {}", access, result.error));
}

ExitOutcome handleExit(const KvmExit &exit, VmDevices &devices)
{
	ExitStats &stats = devices.stats();
	const int rc = exit.runResult;
	if (rc == -EINTR)
		return interrupted(stats);
	if (rc == -EAGAIN)
		return { ExitAction::Continue };
	if (rc == -EFAULT && devices.hvt())
		return ExitOutcome::fault("KVM: host/guest translation fault (a write to read-only kernel memory)");
	if (rc < 0)
		return ExitOutcome::fault(fmt::format("KVM_RUN failed: {} (errno {})", std::strerror(-rc), -rc));

	const kvm_run &run = exit.run;
	if (run.exit_reason == KVM_EXIT_INTR)
		return interrupted(stats);
	++stats.guestExits;
	switch (run.exit_reason) {
	case KVM_EXIT_IO: {
		PortCount &count = stats.byPort[run.io.port];
		if (run.io.direction == KVM_EXIT_IO_OUT) {
			++stats.ioOut;
			++count.out;
			// Echoed once, here, not again when a parked OUT is retried.
			devices.echoOut(run.io, exit.ioData);
		} else {
			++stats.ioIn;
			++count.in;
		}
		ExitOutcome outcome = retryExit(exit, devices);
		outcome.ioExit = true;
		return outcome;
	}
	case KVM_EXIT_HLT:
		++stats.hlt;
		return { ExitAction::Halt };
	case KVM_EXIT_MMIO:
		++stats.mmio;
		return mmio(run, devices);
	case KVM_EXIT_SHUTDOWN:
		++stats.shutdown;
		return ExitOutcome::fault("triple fault (KVM_EXIT_SHUTDOWN)");
	case KVM_EXIT_FAIL_ENTRY:
		++stats.failEntry;
		return ExitOutcome::fault(fmt::format("VM entry failed (KVM_EXIT_FAIL_ENTRY, hardware reason {:#x})",
						      run.fail_entry.hardware_entry_failure_reason));
	case KVM_EXIT_INTERNAL_ERROR:
		++stats.internalError;
		return ExitOutcome::fault(fmt::format("KVM internal error (suberror {})", run.internal.suberror));
	default:
		++stats.other;
		return ExitOutcome::fault(fmt::format("unhandled exit reason {}", run.exit_reason));
	}
}

} // namespace quanta
