// /dev/kvm: the system-wide KVM handle. Creates VMs.
#pragma once

#include <linux/kvm.h>
#include <memory>
#include <vector>

#include "base/UniqueFd.h"
#include "kvm/Ioctl.h"
#include "kvm/RunPageArena.h"

namespace quanta {

class Vm;

class Kvm {
public:
	// Opens the device and checks the API version; throws HostError.
	explicit Kvm(const char *path = "/dev/kvm", IoctlObserver observer = {});

	int fd() const { return fd_.get(); }
	int checkExtension(long capability) const;
	std::size_t vcpuMmapSize() const { return vcpuMmapSize_; }
	// The CPUID leaves KVM supports, handed to every vCPU unchanged.
	const std::vector<kvm_cpuid_entry2> &supportedCpuid() const { return cpuid_; }
	const IoctlObserver *observer() const { return observer_ ? &observer_ : nullptr; }

	Vm createVm() const;
	// Maps a vCPU's kvm_run area; it stays mapped, and its VM alive, until
	// this Kvm goes (RunPageArena.h): destroy guest memory after it.
	void *mapRunPage(int vcpuFd) const { return runPages_.map(vcpuFd, vcpuMmapSize_); }

private:
	UniqueFd fd_;
	IoctlObserver observer_;
	std::size_t vcpuMmapSize_ = 0;
	std::vector<kvm_cpuid_entry2> cpuid_;
	// Mutable: VMs and vCPUs are made through a const Kvm; the arena is
	// only where their pages live.
	mutable RunPageArena runPages_;
};

} // namespace quanta
