#include "vmm/Machine.h"

#include <fmt/format.h>
#include <unistd.h>

#include "base/Clock.h"
#include "base/Error.h"
#include "hvt/HvtBoot.h"
#include "hvt/HvtCore.h"
#include "hvt/HvtGuest.h"
#include "vmm/ModeProbe.h"

namespace quanta {

Machine::Machine(const Kvm &kvm, Vm vm, GuestMemory &memory, PreparedGuest guest, Console &console, std::size_t consoleId,
		 InputSource &input, const DeviceOptions &options)
	: name_(std::move(guest.name)), kvm_(kvm),
	  bootFacts_{ guest.format, guest.boot.mode, guest.boot.pageSize, guest.modeGiven, guest.hvt.has_value(),
		      guest.boot.entry, 0, std::nullopt },
	  memory_(memory), console_(console),
	  consoleId_(consoleId), createdNs_(monotonicNow()), vm_(std::move(vm)), vcpu_(vm_.createVcpu(0)),
	  devices_(*this, console, consoleId, input, guest.layout.scratch(), options)
{
	vm_.setMemory(memory_);
	vcpu_.setCpuid(kvm.supportedCpuid());
	if (guest.hvt) {
		bootHvt(*guest.hvt);
		return;
	}
	BootState boot = prepareBoot(memory_, guest.layout, guest.boot, vcpu_.sregs());
	vcpu_.setSregs(boot.sregs);
	vcpu_.setRegs(boot.regs);
}

// A Solo5 hvt guest: its boot profile and its device set only.
void Machine::bootHvt(hvt::PreparedHvt &prepared)
{
	devices_.useHvt(std::make_unique<hvt::HvtHypercalls>(static_cast<GuestContext &>(*this),
							     std::move(prepared.attachments), prepared.loaded.segments,
							     hvt::hostClocks()));
	hvt::BootParams params;
	params.entry = prepared.loaded.entry;
	params.kernelEnd = prepared.loaded.kernelEnd;
	params.tscHz = vcpu_.tscKhz() * 1000;
	params.manifest = std::move(prepared.manifest);
	params.cmdline = std::move(prepared.cmdline);
	hvt::BootState state = hvt::prepareBoot(memory_, params, vcpu_.sregs());
	vcpu_.setSregs(state.sregs);
	vcpu_.setRegs(state.regs);
	hvt::protectSegments(memory_, prepared.loaded.segments);
	dumpcoreDir_ = prepared.dumpcoreDir;
}

// As solo5-hvt --dumpcore: the guest's registers and memory after an abort.
void Machine::dumpCore()
{
	std::string name = hvt::coreFileName(::getpid());
	console_.beforeOutput();
	fmt::print(stderr, "quanta: {}: dumpcore: dumping guest core to: {}/{}\n", name_, dumpcoreDir_, name);
	try {
		std::size_t pages = hvt::writeCore(dumpcoreDir_, name, memory_, vcpu_.regs(), vcpu_.sregs(),
						   devices_.hvt()->trapFrame());
		fmt::print(stderr, "quanta: {}: dumpcore: dumped {} pages of total {} pages\n", name_, pages,
			   memory_.size() / 4096);
	} catch (const HostError &e) {
		fmt::print(stderr, "quanta: {}: dumpcore: {}\n", name_, e.what());
	}
}

Translation Machine::translatePointer(std::uint64_t pointer)
{
	kvm_sregs sregs = vcpu_.sregs();
	PagingState paging = PagingState::fromSregs(sregs);
	// Outside long mode a pointer is an offset in DS (which is 0 in the flat
	// protected-mode setup, and the segment base in real mode).
	std::uint64_t linear = paging.kind == PagingState::Kind::Long ? pointer : sregs.ds.base + pointer;
	return translate(memory_, paging, linear);
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
	console_.diagnostic(fmt::format("quanta: {}: {}\n", name_, text));
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
	std::optional<std::uint64_t> rip;
	try {
		rip = vcpu_.regs().rip;
	} catch (const HostError &) {
	}
	outcome.diagnosis = rip ? fmt::format("{} at rip {:#x}", outcome.diagnosis, *rip)
				: fmt::format("{} at rip unknown", outcome.diagnosis);
	if (explainFaults_)
		explainEarlyFault(outcome, rip);
	return outcome;
}

void Machine::explainEarlyFault(ExitOutcome &outcome, std::optional<std::uint64_t> rip)
{
	FaultFacts facts = bootFacts_;
	facts.exits = stats().guestExits;
	facts.rip = rip;
	if (worthModeProbe(facts) && !probeMode(kvm_, facts.mode, facts.pageSize).empty()) {
		outcome.diagnosis = hostCannotRunMessage(facts, outcome.diagnosis);
		outcome.hostCannotRun = true;
		return;
	}
	if (std::string hint = imageHint(facts); !hint.empty())
		outcome.diagnosis += "; " + hint;
}

ExitOutcome Machine::handle(int runResult)
{
	ExitOutcome outcome = handleExit(pendingExit(runResult), devices_);
	if (outcome.action == ExitAction::Exit && !dumpcoreDir_.empty() && outcome.exitStatus == hvt::kExitAbort)
		dumpCore();
	return withRip(std::move(outcome));
}

ExitOutcome Machine::retryExit()
{
	return withRip(quanta::retryExit(pendingExit(0), devices_));
}

} // namespace quanta
