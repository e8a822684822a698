#include "kvm/Ioctl.h"

#include <cerrno>
#include <sys/ioctl.h>

#include "base/Error.h"

namespace quanta {

long kvmIoctl(int fd, unsigned long request, std::uintptr_t arg, const char *name,
	      const IoctlObserver *observer)
{
	long result;
	do {
		result = ::ioctl(fd, request, arg);
	} while (result < 0 && errno == EINTR);
	if (result < 0)
		throw HostError(name, errno);
	if (observer && *observer)
		(*observer)(name, result);
	return result;
}

} // namespace quanta
