#include "kvm/Kvm.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>

#include "base/Error.h"
#include "kvm/Uapi.h"
#include "kvm/Vm.h"

namespace quanta {

Kvm::Kvm(const char *path, IoctlObserver observer)
	: observer_(std::move(observer))
{
	fd_ = UniqueFd(::open(path, O_RDWR | O_CLOEXEC));
	if (!fd_.valid()) {
		int err = errno;
		// The common case deserves a hint, still on one line.
		const char *hint = err == ENOENT   ? "no KVM on this host; tools/kvm-run runs quanta in the KVM sandbox"
				   : err == EACCES ? "add yourself to the kvm group"
						   : "";
		throw HostError(fmt::format("open {}", path), err, hint);
	}
	if (observer_)
		observer_(fmt::format("open({})", path), fd_.get());

	long version = kvmIoctl(fd(), KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION", this->observer());
	if (version != KVM_API_VERSION)
		throw HostError(fmt::format("KVM_GET_API_VERSION returned {}, expected {}",
					    version, KVM_API_VERSION),
				EINVAL);
	vcpuMmapSize_ = static_cast<std::size_t>(
		kvmIoctl(fd(), KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE", this->observer()));

	// The leaves follow an 8-byte header: allocate room for plenty of them.
	constexpr std::uint32_t kMaxLeaves = 256;
	std::vector<std::uint8_t> buffer(sizeof(uapi::CpuidHeader) + kMaxLeaves * sizeof(kvm_cpuid_entry2));
	uapi::CpuidHeader header{ kMaxLeaves, 0 };
	std::memcpy(buffer.data(), &header, sizeof(header));
	kvmIoctl(fd(), uapi::kGetSupportedCpuid, buffer.data(), "KVM_GET_SUPPORTED_CPUID", this->observer());
	std::memcpy(&header, buffer.data(), sizeof(header));
	cpuid_.resize(std::min(header.nent, kMaxLeaves));
	std::memcpy(cpuid_.data(), buffer.data() + sizeof(header), cpuid_.size() * sizeof(kvm_cpuid_entry2));
}

int Kvm::checkExtension(long capability) const
{
	return static_cast<int>(kvmIoctl(fd(), KVM_CHECK_EXTENSION, static_cast<std::uintptr_t>(capability),
					 "KVM_CHECK_EXTENSION", observer()));
}

Vm Kvm::createVm() const
{
	int vmFd = static_cast<int>(kvmIoctl(fd(), KVM_CREATE_VM, 0, "KVM_CREATE_VM", observer()));
	return Vm(*this, UniqueFd(vmFd));
}

} // namespace quanta
