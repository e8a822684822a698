#include "kvm/Vm.h"

#include <linux/kvm.h>

#include "kvm/Kvm.h"
#include "kvm/Vcpu.h"

namespace quanta {

namespace {
// Intel VMX without unrestricted guest needs three pages for the real-mode
// TSS somewhere outside guest memory; this is the address QEMU uses too.
constexpr std::uintptr_t kTssAddress = 0xfffbd000;
} // namespace

Vm::Vm(const Kvm &kvm, UniqueFd fd)
	: kvm_(&kvm), fd_(std::move(fd))
{
	if (kvm_->checkExtension(KVM_CAP_SET_TSS_ADDR) > 0)
		kvmIoctl(this->fd(), KVM_SET_TSS_ADDR, kTssAddress, "KVM_SET_TSS_ADDR", kvm_->observer());
}

void Vm::setMemory(const GuestMemory &memory)
{
	kvm_userspace_memory_region region{};
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = memory.size();
	region.userspace_addr = reinterpret_cast<std::uint64_t>(memory.hostBase());
	kvmIoctl(fd(), KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION",
		 kvm_->observer());
}

Vcpu Vm::createVcpu(int index)
{
	int vcpuFd = static_cast<int>(kvmIoctl(fd(), KVM_CREATE_VCPU, static_cast<std::uintptr_t>(index),
					       "KVM_CREATE_VCPU", kvm_->observer()));
	return Vcpu(*kvm_, UniqueFd(vcpuFd));
}

} // namespace quanta
