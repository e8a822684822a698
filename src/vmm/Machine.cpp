#include "vmm/Machine.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include <quanta/abi.h>

#include "base/Clock.h"
#include "base/Error.h"

namespace quanta {

Machine::Machine(const Kvm &kvm, PreparedGuest guest, Console &console, std::size_t consoleId,
		 InputSource &input, const MachineOptions &options)
	: name_(std::move(guest.name)), memory_(std::move(guest.memory)), console_(console),
	  consoleId_(consoleId), createdNs_(monotonicNow()), vm_(kvm.createVm()),
	  vcpu_(vm_.createVcpu(0)), serial_(console, consoleId, input),
	  assignment_(*this, guest.layout.scratch()), native_(*this, work_, options.seed, options.channels, options.guestId - 1)
{
	vm_.setMemory(*memory_);
	vcpu_.setCpuid(kvm.supportedCpuid());
	BootState boot = prepareBoot(*memory_, guest.layout, guest.boot, vcpu_.sregs());
	vcpu_.setSregs(boot.sregs);
	vcpu_.setRegs(boot.regs);

	bus_.setUnknownPortPolicy(options.unknownPorts);
	bus_.attach(QUANTA_PORT_SERIAL, 1, serial_, "serial");
	bus_.attach(QUANTA_PORT_COUNTER_NEO, 2, work_, "work counter");
	bus_.attach(AssignmentHypercalls::kBase, AssignmentHypercalls::kCount, assignment_,
		    "assignment hypercalls");
	bus_.attach(QUANTA_PORT_HC_BASE, QUANTA_HC_COUNT, native_, "native hypercalls");
	if (options.files) {
		files_ = std::make_unique<FileDevice>(static_cast<GuestContext &>(*this), *options.files, options.guestId);
		bus_.attach(QUANTA_PORT_FILE, 1, *files_, "files");
	}
}

void Machine::release()
{
	if (files_)
		files_->stopped();
}

Translation Machine::translatePointer(std::uint64_t pointer)
{
	kvm_sregs sregs = vcpu_.sregs();
	PagingState paging = PagingState::fromSregs(sregs);
	// Outside long mode a pointer is an offset in DS (which is 0 in the flat
	// protected-mode setup, and the segment base in real mode).
	std::uint64_t linear = paging.kind == PagingState::Kind::Long ? pointer : sregs.ds.base + pointer;
	return translate(*memory_, paging, linear);
}

std::uint64_t Machine::pointerBase()
{
	kvm_sregs sregs = vcpu_.sregs();
	return PagingState::fromSregs(sregs).kind == PagingState::Kind::Long ? 0 : sregs.ds.base;
}

void Machine::print(std::string_view text)
{
	for (char c : text)
		console_.write(consoleId_, static_cast<std::uint8_t>(c));
}

void Machine::warn(std::string_view text)
{
	console_.beforeOutput();
	fmt::print(stderr, "quanta: {}: {}\n", name_, text);
}

std::int64_t Machine::uptimeNs() const
{
	return monotonicNow() - createdNs_;
}

ExitOutcome Machine::fault(std::string what)
{
	std::string rip;
	try {
		rip = fmt::format("{:#x}", vcpu_.regs().rip);
	} catch (const HostError &) {
		rip = "unknown";
	}
	return { ExitAction::Fault, fmt::format("{} at rip {}", what, rip) };
}

ExitOutcome Machine::handle(int rc)
{
	if (rc == -EINTR) {
		++stats_.interrupts;
		return { ExitAction::Interrupted, {} };
	}
	if (rc == -EAGAIN)
		return { ExitAction::Continue, {} };
	if (rc < 0)
		return fault(fmt::format("KVM_RUN failed: {} (errno {})", std::strerror(-rc), -rc));
	return handleExit();
}

ExitOutcome Machine::retryExit()
{
	return handleIo();
}

ExitOutcome Machine::handleExit()
{
	kvm_run &run = vcpu_.runState();
	if (run.exit_reason == KVM_EXIT_INTR) {
		++stats_.interrupts;
		return { ExitAction::Interrupted, {} };
	}
	++stats_.guestExits;
	switch (run.exit_reason) {
	case KVM_EXIT_IO: {
		PortCount &count = stats_.byPort[run.io.port];
		if (run.io.direction == KVM_EXIT_IO_OUT) {
			++stats_.ioOut;
			++count.out;
		} else {
			++stats_.ioIn;
			++count.in;
		}
		ExitOutcome outcome = handleIo();
		outcome.ioExit = true;
		return outcome;
	}
	case KVM_EXIT_HLT:
		++stats_.hlt;
		return { ExitAction::Halt, {} };
	case KVM_EXIT_MMIO:
		++stats_.mmio;
		return fault(fmt::format("MMIO outside memory: {} of {} bytes at guest-physical {:#x}",
					 run.mmio.is_write ? "write" : "read", run.mmio.len,
					 run.mmio.phys_addr));
	case KVM_EXIT_SHUTDOWN:
		++stats_.shutdown;
		return fault("triple fault (KVM_EXIT_SHUTDOWN)");
	case KVM_EXIT_FAIL_ENTRY:
		++stats_.failEntry;
		return fault(fmt::format("VM entry failed (KVM_EXIT_FAIL_ENTRY, hardware reason {:#x})",
					 run.fail_entry.hardware_entry_failure_reason));
	case KVM_EXIT_INTERNAL_ERROR:
		++stats_.internalError;
		return fault(fmt::format("KVM internal error (suberror {})", run.internal.suberror));
	default:
		++stats_.other;
		return fault(fmt::format("unhandled exit reason {}", run.exit_reason));
	}
}

ExitOutcome Machine::handleIo()
{
	kvm_run &run = vcpu_.runState();
	PortBus::Result result = bus_.dispatch(run);
	switch (result.status) {
	case IoStatus::Done:
		return { ExitAction::Continue, {} };
	case IoStatus::Blocked:
		return { ExitAction::Park, {} };
	case IoStatus::Yield:
		return { ExitAction::Yield, {} };
	case IoStatus::Stop:
		return { ExitAction::Exit, {} };
	case IoStatus::Error:
		break;
	}
	const char *direction = run.io.direction == KVM_EXIT_IO_OUT ? "out" : "in";
	if (result.unknownPort)
		return fault(fmt::format("unknown port {:#x} ({}, {} byte{})", run.io.port, direction,
					 run.io.size, run.io.size == 1 ? "" : "s"));
	return fault(fmt::format("port {:#x} ({}, {} byte{}): {}", run.io.port, direction, run.io.size,
				 run.io.size == 1 ? "" : "s", result.error));
}

} // namespace quanta
