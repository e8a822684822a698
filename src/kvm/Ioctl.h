// The single place quanta calls ioctl() on KVM file descriptors, so every
// failure names its ioctl and errno, and explain mode can watch them all.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace quanta {

// Called after every setup ioctl (not KVM_RUN) with its name and result;
// installed by --explain. Empty by default.
using IoctlObserver = std::function<void(std::string_view name, long result)>;

// Issues ioctl(fd, request, arg); throws HostError naming `name` on failure.
long kvmIoctl(int fd, unsigned long request, std::uintptr_t arg, const char *name,
	      const IoctlObserver *observer = nullptr);

template <typename T>
long kvmIoctl(int fd, unsigned long request, T *arg, const char *name,
	      const IoctlObserver *observer = nullptr)
{
	return kvmIoctl(fd, request, reinterpret_cast<std::uintptr_t>(arg), name, observer);
}

} // namespace quanta
