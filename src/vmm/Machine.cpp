#include "vmm/Machine.h"

#include <fmt/format.h>

#include "base/Clock.h"
#include "base/Error.h"

namespace quanta {

Machine::Machine(const Kvm &kvm, PreparedGuest guest, Console &console, std::size_t consoleId,
		 InputSource &input, const DeviceOptions &options)
	: name_(std::move(guest.name)), memory_(std::move(guest.memory)), console_(console),
	  consoleId_(consoleId), createdNs_(monotonicNow()), vm_(kvm.createVm()), vcpu_(vm_.createVcpu(0)),
	  devices_(*this, console, consoleId, input, guest.layout.scratch(), options)
{
	vm_.setMemory(*memory_);
	vcpu_.setCpuid(kvm.supportedCpuid());
	BootState boot = prepareBoot(*memory_, guest.layout, guest.boot, vcpu_.sregs());
	vcpu_.setSregs(boot.sregs);
	vcpu_.setRegs(boot.regs);
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
	console_.write(consoleId_, text);
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

KvmExit Machine::pendingExit(int runResult)
{
	return { runResult, vcpu_.runState(), vcpu_.ioData() };
}

// Where the guest was: read only for a fault, never on the hot path.
ExitOutcome Machine::withRip(ExitOutcome outcome)
{
	if (outcome.action != ExitAction::Fault)
		return outcome;
	std::string rip;
	try {
		rip = fmt::format("{:#x}", vcpu_.regs().rip);
	} catch (const HostError &) {
		rip = "unknown";
	}
	outcome.diagnosis = fmt::format("{} at rip {}", outcome.diagnosis, rip);
	return outcome;
}

ExitOutcome Machine::handle(int runResult)
{
	return withRip(handleExit(pendingExit(runResult), devices_));
}

ExitOutcome Machine::retryExit()
{
	return withRip(quanta::retryExit(pendingExit(0), devices_));
}

} // namespace quanta
