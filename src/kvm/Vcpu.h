// One virtual CPU and its shared kvm_run page.
#pragma once

#include <csignal>
#include <cstdint>
#include <linux/kvm.h>
#include <span>
#include <vector>

#include "base/UniqueFd.h"
#include "kvm/Ioctl.h"

namespace quanta {

class Kvm;

class Vcpu {
public:
	Vcpu(const Kvm &kvm, UniqueFd fd);

	int fd() const { return fd_.get(); }
	kvm_run &runState() const { return *run_; }
	// The data area of a pending KVM_EXIT_IO (in the kvm_run page at
	// io.data_offset), or empty if it would not fit the page.
	std::span<std::uint8_t> ioData() const;

	kvm_regs regs() const;
	void setRegs(const kvm_regs &regs);
	kvm_sregs sregs() const;
	void setSregs(const kvm_sregs &sregs);
	void setCpuid(const std::vector<kvm_cpuid_entry2> &entries);
	// The guest's TSC frequency in kHz (KVM_GET_TSC_KHZ); throws HostError
	// when KVM cannot say (an unstable host TSC).
	std::uint64_t tscKhz() const;
	// The signal mask in force while the vCPU runs (KVM_SET_SIGNAL_MASK).
	void setSignalMask(const sigset_t &mask);

	// Enters the guest. Returns 0 on an exit to handle, or -errno (EINTR
	// when a signal kicked us out, EAGAIN to retry); never throws because
	// the hot path must not unwind.
	int run();

private:
	const IoctlObserver *observer_;
	UniqueFd fd_;
	kvm_run *run_;         // in the Kvm's RunPageArena, which unmaps it
	std::size_t runBytes_; // the kvm_run area, with the I/O data after it
};

} // namespace quanta
