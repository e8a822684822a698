#include "hvt/HvtTap.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/Error.h"

namespace quanta::hvt {

TapPort::TapPort(const std::string &iface)
	: fd_(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC))
{
	if (iface.empty() || iface.size() >= IFNAMSIZ)
		throw UsageError(fmt::format("Could not attach interface: '{}': not an interface name", iface));
	if (!fd_.valid())
		throw UsageError(fmt::format("Could not attach interface: {}: /dev/net/tun: {}", iface, std::strerror(errno)));
	ifreq request{};
	std::strncpy(request.ifr_name, iface.c_str(), IFNAMSIZ - 1);
	// IFF_TUN_EXCL is left out: the interface must exist already (made by
	// `ip tuntap add`), as for solo5-hvt.
	request.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (::ioctl(fd_.get(), TUNSETIFF, &request) != 0)
		throw UsageError(fmt::format("Could not attach interface: {}: {}", iface, std::strerror(errno)));
	UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	ifreq mtuRequest{};
	std::strncpy(mtuRequest.ifr_name, iface.c_str(), IFNAMSIZ - 1);
	if (sock.valid() && ::ioctl(sock.get(), SIOCGIFMTU, &mtuRequest) == 0 && mtuRequest.ifr_mtu > 0)
		mtu_ = static_cast<std::uint16_t>(mtuRequest.ifr_mtu);
}

bool TapPort::send(std::span<const std::uint8_t> frame)
{
	ssize_t n;
	do
		n = ::write(fd_.get(), frame.data(), frame.size());
	while (n < 0 && errno == EINTR);
	// A full tap queue (EAGAIN) or a frame the interface refuses drops it,
	// as a real NIC would.
	return n == static_cast<ssize_t>(frame.size());
}

std::optional<std::size_t> TapPort::receive(std::span<std::uint8_t> out)
{
	ssize_t n;
	do
		n = ::read(fd_.get(), out.data(), out.size());
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return std::nullopt;
	return static_cast<std::size_t>(n);
}

bool TapPort::readable()
{
	pollfd p{ fd_.get(), POLLIN, 0 };
	return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

NetOpener tapOpener()
{
	return [](const std::string &, const std::string &target) -> std::unique_ptr<NetPort> {
		return std::make_unique<TapPort>(target);
	};
}

} // namespace quanta::hvt
