// A net device on a host tap interface, as solo5-hvt's: frames are written
// to and read from the tap descriptor (non-blocking); poll watches it.
#pragma once

#include <memory>
#include <string>

#include "base/UniqueFd.h"
#include "hvt/HvtDevices.h"

namespace quanta::hvt {

class TapPort : public NetPort {
public:
	// Attaches to the existing tap interface IFACE; throws UsageError
	// ("Could not attach interface: IFACE: why").
	explicit TapPort(const std::string &iface);

	bool send(std::span<const std::uint8_t> frame) override;
	std::optional<std::size_t> receive(std::span<std::uint8_t> out) override;
	bool readable() override;
	int pollFd() const override { return fd_.get(); }
	std::uint16_t mtu() const override { return mtu_; }

private:
	UniqueFd fd_;
	std::uint16_t mtu_ = 1500;
};

// What --net accepts: a tap interface name.
NetOpener tapOpener();

} // namespace quanta::hvt
