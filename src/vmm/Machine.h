// One running guest: KVM VM + vCPU + memory + port bus + devices. Exit
// handling returns an outcome (continue / park / halt / fault ...) and never
// acts on the rest of the system: the run loop decides what happens next.
#pragma once

#include <memory>
#include <string>

#include "devices/AssignmentHypercalls.h"
#include "devices/GuestContext.h"
#include "devices/NativeHypercalls.h"
#include "devices/PortBus.h"
#include "devices/Serial.h"
#include "devices/WorkCounter.h"
#include "files/FileDevice.h"
#include "host/Console.h"
#include "host/Input.h"
#include "kvm/Kvm.h"
#include "kvm/Vcpu.h"
#include "kvm/Vm.h"
#include "vmm/ExitStats.h"
#include "vmm/Guest.h"

namespace quanta {

enum class ExitAction {
	Continue,    // handled; re-enter the guest
	Interrupted, // a host signal ended KVM_RUN (slice timer, SIGINT)
	Park,        // waits for something (input); retry the exit when woken
	Halt,        // the guest finished (HLT)
	Exit,        // the guest called the exit hypercall (status in exitStatus)
	Yield,       // the guest gave up the rest of its slice
	Fault,       // the guest did something fatal; diagnosis says what
};

struct ExitOutcome {
	ExitAction action;
	std::string diagnosis; // Fault only: one line
	bool ioExit = false;   // the exit was port I/O (ends the slice under `io`)
};

struct MachineOptions {
	UnknownPortPolicy unknownPorts = UnknownPortPolicy::Fault;
	std::uint64_t seed = 0;           // what the random hypercall returns
	const FileStore *files = nullptr; // shared and local files (port 0x278)
	unsigned guestId = 1;             // 1-based position in -g: names .local<ID> files
	ChannelHub *channels = nullptr;   // channels between VMs (--channel)
};

class Machine : private GuestContext {
public:
	// Creates the VM and vCPU and sets up the boot state; throws HostError.
	Machine(const Kvm &kvm, PreparedGuest guest, Console &console, std::size_t consoleId,
		InputSource &input, const MachineOptions &options);
	Machine(const Machine &) = delete;
	Machine &operator=(const Machine &) = delete;

	const std::string &name() const { return name_; }
	const ExitStats &stats() const { return stats_; }
	GuestMemory &memory() override { return *memory_; }
	Vcpu &vcpu() { return vcpu_; }
	kvm_run &runState() { return vcpu_.runState(); }
	PortBus &bus() { return bus_; }
	const WorkCounter &work() const { return work_; }
	std::optional<std::uint32_t> exitStatus() const { return native_.exitStatus(); }

	// The guest stopped for good: its files are synced and closed.
	void release();

	// One KVM_RUN and the handling of its exit.
	ExitOutcome run() { return handle(enter()); }
	// The two halves, so the loop can time the guest alone: enter() is the
	// KVM_RUN (0 or -errno), handle() turns its result into an outcome.
	int enter() { return vcpu_.run(); }
	ExitOutcome handle(int runResult);
	// Handles the pending exit again (after a Park, once woken).
	ExitOutcome retryExit();

private:
	// GuestContext, for the devices that work on the guest's memory.
	const ExitStats &exitStats() const override { return stats_; }
	Translation translatePointer(std::uint64_t pointer) override;
	std::uint64_t pointerBase() override;
	void print(std::string_view text) override;
	void warn(std::string_view text) override;
	std::int64_t uptimeNs() const override;

	ExitOutcome handleExit();
	ExitOutcome handleIo();
	ExitOutcome fault(std::string what);

	std::string name_;
	std::unique_ptr<GuestMemory> memory_; // outlives vm_, which maps it
	Console &console_;
	std::size_t consoleId_;
	std::int64_t createdNs_;
	Vm vm_;
	Vcpu vcpu_;
	Serial serial_;
	WorkCounter work_;
	AssignmentHypercalls assignment_;
	NativeHypercalls native_;
	std::unique_ptr<FileDevice> files_;
	PortBus bus_;
	ExitStats stats_;
};

} // namespace quanta
