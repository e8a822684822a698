// One running guest: KVM VM + vCPU + memory + its devices. Exit handling
// (Exit.h) returns an outcome (continue / park / halt / fault ...) and never
// acts on the rest of the system: the run loop decides what happens next.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "devices/GuestContext.h"
#include "host/Console.h"
#include "host/Input.h"
#include "kvm/ExitOutcome.h"
#include "kvm/Kvm.h"
#include "kvm/Vcpu.h"
#include "kvm/Vm.h"
#include "vmm/Exit.h"
#include "vmm/FaultHint.h"
#include "vmm/Guest.h"
#include "vmm/VmDevices.h"

namespace quanta {

class Machine : private GuestContext {
public:
	// Creates the vCPU in vm (made by kvm) and sets up the boot state;
	// throws HostError. memory is the guest's (taken out of guest by the
	// caller), to be unmapped after kvm goes, when no VM is left
	// (kvm/RunPageArena.h).
	Machine(const Kvm &kvm, Vm vm, GuestMemory &memory, PreparedGuest guest, Console &console,
		std::size_t consoleId, InputSource &input, const DeviceOptions &options);
	Machine(const Machine &) = delete;
	Machine &operator=(const Machine &) = delete;

	const std::string &name() const { return name_; }
	const ExitStats &stats() const { return devices_.stats(); }
	GuestMemory &memory() override { return memory_; }
	Vcpu &vcpu() { return vcpu_; }
	const kvm_run &runState() const { return vcpu_.runState(); }
	const PortBus &bus() const { return devices_.bus(); }
	const WorkCounter &work() const { return devices_.work(); }

	// The guest stopped for good: its files are synced and closed.
	void release() { devices_.release(); }

	// A Solo5 hvt guest's device set (else nullptr): its exit status, the
	// wait of a VM parked in poll, its net devices.
	hvt::HvtHypercalls *hvt() { return devices_.hvt(); }
	const hvt::HvtHypercalls *hvt() const { return devices_.hvt(); }

	// One KVM_RUN and the handling of its exit.
	ExitOutcome run() { return handle(enter()); }
	// The two halves, so the loop can time the guest alone:
	// enter() is the KVM_RUN (0 or -errno), handle() turns its result into
	// an outcome (handleExit, with the rip added to a fault).
	int enter() { return vcpu_.run(); }
	ExitOutcome handle(int runResult);
	// Handles the pending exit again (after a Park, once woken).
	ExitOutcome retryExit();

	// A fault in the guest's first instructions gets its likely cause
	// (FaultHint.h), probing the mode when the fault was the first exit.
	// On by default; off for the probe itself.
	void explainFaults(bool on) { explainFaults_ = on; }

private:
	// GuestContext, for the devices that work on the guest's memory.
	Translation translatePointer(std::uint64_t pointer) override;
	std::uint64_t pointerBase() override;
	void print(std::string_view text) override;
	bool canPrint() const override { return console_.acceptsOutput(); }
	void warn(std::string_view text) override;
	std::int64_t uptimeNs() const override;

	KvmExit pendingExit(int runResult);
	ExitOutcome withRip(ExitOutcome outcome);
	void explainEarlyFault(ExitOutcome &outcome, std::optional<std::uint64_t> rip);
	void bootHvt(hvt::PreparedHvt &prepared);
	void dumpCore();

	std::string name_;
	const Kvm &kvm_; // for the mode probe after an early fault
	FaultFacts bootFacts_;
	bool explainFaults_ = true;
	GuestMemory &memory_; // outlives the VM, which maps it
	Console &console_;
	std::size_t consoleId_;
	std::int64_t createdNs_;
	Vm vm_;
	Vcpu vcpu_;
	VmDevices devices_;
	std::string dumpcoreDir_; // hvt: a core file on abort (quanta hvt --dumpcore)
};

} // namespace quanta
