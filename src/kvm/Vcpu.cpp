#include "kvm/Vcpu.h"

#include <cerrno>
#include <cstring>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "base/Error.h"
#include "kvm/Kvm.h"
#include "kvm/Uapi.h"

namespace quanta {

Vcpu::Vcpu(const Kvm &kvm, UniqueFd fd)
	: observer_(kvm.observer()), fd_(std::move(fd)),
	  run_(static_cast<kvm_run *>(kvm.mapRunPage(fd_.get()))), runBytes_(kvm.vcpuMmapSize())
{
	// Not an ioctl, but a step of every VM's setup that --explain shows.
	if (observer_)
		(*observer_)("mmap kvm_run", static_cast<long>(kvm.vcpuMmapSize()));
}

kvm_regs Vcpu::regs() const
{
	kvm_regs regs{};
	kvmIoctl(fd(), KVM_GET_REGS, &regs, "KVM_GET_REGS");
	return regs;
}

void Vcpu::setRegs(const kvm_regs &regs)
{
	kvmIoctl(fd(), KVM_SET_REGS, const_cast<kvm_regs *>(&regs), "KVM_SET_REGS", observer_);
}

kvm_sregs Vcpu::sregs() const
{
	kvm_sregs sregs{};
	kvmIoctl(fd(), KVM_GET_SREGS, &sregs, "KVM_GET_SREGS", observer_);
	return sregs;
}

void Vcpu::setSregs(const kvm_sregs &sregs)
{
	kvmIoctl(fd(), KVM_SET_SREGS, const_cast<kvm_sregs *>(&sregs), "KVM_SET_SREGS", observer_);
}

void Vcpu::setCpuid(const std::vector<kvm_cpuid_entry2> &entries)
{
	uapi::CpuidHeader header{ static_cast<std::uint32_t>(entries.size()), 0 };
	std::vector<std::uint8_t> buffer(sizeof(header) + entries.size() * sizeof(kvm_cpuid_entry2));
	std::memcpy(buffer.data(), &header, sizeof(header));
	std::memcpy(buffer.data() + sizeof(header), entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
	kvmIoctl(fd(), uapi::kSetCpuid2, buffer.data(), "KVM_SET_CPUID2", observer_);
}

std::uint64_t Vcpu::tscKhz() const
{
	return static_cast<std::uint64_t>(kvmIoctl(fd(), KVM_GET_TSC_KHZ, 0, "KVM_GET_TSC_KHZ", observer_));
}

void Vcpu::setSignalMask(const sigset_t &mask)
{
	// The kernel's sigset is 8 bytes on x86-64, not glibc's 128.
	constexpr std::uint32_t kKernelSigsetSize = 8;
	std::uint8_t buffer[sizeof(uapi::SignalMaskHeader) + kKernelSigsetSize];
	uapi::SignalMaskHeader header{ kKernelSigsetSize };
	std::memcpy(buffer, &header, sizeof(header));
	std::memcpy(buffer + sizeof(header), &mask, kKernelSigsetSize);
	kvmIoctl(fd(), uapi::kSetSignalMask, buffer, "KVM_SET_SIGNAL_MASK", observer_);
}

std::span<std::uint8_t> Vcpu::ioData() const
{
	const kvm_run &run = runState();
	if (run.exit_reason != KVM_EXIT_IO)
		return {};
	std::size_t length = std::size_t{ run.io.size } * run.io.count;
	if (run.io.data_offset > runBytes_ || length > runBytes_ - run.io.data_offset)
		return {};
	return { reinterpret_cast<std::uint8_t *>(run_) + run.io.data_offset, length };
}

int Vcpu::run()
{
	if (::ioctl(fd(), KVM_RUN, 0) < 0)
		return -errno;
	return 0;
}

} // namespace quanta
