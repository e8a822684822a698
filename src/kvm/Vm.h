// One KVM virtual machine: owns the VM fd, registers memory, creates vCPUs.
#pragma once

#include "base/UniqueFd.h"
#include "kvm/Ioctl.h"
#include "memory/GuestMemory.h"

namespace quanta {

class Kvm;
class Vcpu;

class Vm {
public:
	Vm(const Kvm &kvm, UniqueFd fd);

	int fd() const { return fd_.get(); }

	// Registers guest memory as slot 0 at guest-physical 0.
	void setMemory(const GuestMemory &memory);
	Vcpu createVcpu(int index);

private:
	const Kvm *kvm_;
	UniqueFd fd_;
};

} // namespace quanta
