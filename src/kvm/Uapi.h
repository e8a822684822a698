// Fixes for <linux/kvm.h> in C++. The uapi headers declare flexible arrays
// with __DECLARE_FLEX_ARRAY, whose empty struct has size 1 in C++ (0 in C):
// sizeof(kvm_cpuid2) becomes 12 instead of 8, so the ioctl numbers built
// from it (KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2, KVM_SET_SIGNAL_MASK) and
// the offset of the array are wrong. We use our own headers with the C
// layout and ioctl numbers computed from them.
#pragma once

#include <cstdint>
#include <linux/kvm.h>

namespace quanta::uapi {

// struct kvm_cpuid2 without its entries (which follow at offset 8).
struct CpuidHeader {
	std::uint32_t nent;
	std::uint32_t padding;
};
static_assert(sizeof(CpuidHeader) == 8);

// struct kvm_signal_mask without its sigset (which follows at offset 4).
struct SignalMaskHeader {
	std::uint32_t len;
};
static_assert(sizeof(SignalMaskHeader) == 4);

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
inline constexpr unsigned long kSetSignalMask = _IOW(KVMIO, 0x8b, SignalMaskHeader);

} // namespace quanta::uapi
