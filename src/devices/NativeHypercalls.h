// quanta's own hypercalls (ports QUANTA_PORT_HC_BASE + call): one outl of
// the guest-physical address of an argument block per call, results in the
// block's `ret` (and from an inl on the same port). See docs/guest-abi.md.
#pragma once

#include <cstdint>

#include "base/VmId.h"

#include "channels/Channel.h"
#include "devices/GuestContext.h"
#include "devices/PortBus.h"
#include "devices/WorkCounter.h"

namespace quanta {

class NativeHypercalls : public PortDevice {
public:
	// seed: the per-VM seed the random call hands out.
	// channels may be null (no --channel); vm is this VM's index in the run.
	NativeHypercalls(GuestContext &guest, WorkCounter &work, std::uint64_t seed, ChannelHub *channels,
			 VmIndex vm);

	IoStatus portIn(std::uint16_t offset, std::span<std::uint8_t> data) override;
	IoStatus portOut(std::uint16_t offset, std::span<const std::uint8_t> data) override;
	std::string lastError() const override { return error_; }
	// Channel calls block on their peer, the write call on stdout.
	ParkReason blockedOn() const override { return blockedOn_; }
	// What the guest passed to the exit call.
	std::uint32_t stopStatus() const override { return exitStatus_; }

private:
	template <typename Block, typename Handler>
	IoStatus call(GuestPhysAddr block, Handler handler);
	IoStatus channelCall(GuestPhysAddr block, bool send);
	IoStatus channelInfo(GuestPhysAddr block);

	GuestContext &guest_;
	WorkCounter &work_;
	std::uint64_t seed_;
	ChannelHub *channels_;
	std::size_t vm_;
	std::int32_t lastResult_ = 0;
	std::uint32_t exitStatus_ = 0;
	std::string error_;
	ParkReason blockedOn_ = ParkReason::Channel;
};

// Derives VM i's seed from a run seed (splitmix64), so --seed N reproduces
// every VM's random stream and different VMs get different streams.
std::uint64_t deriveSeed(std::uint64_t runSeed, std::size_t vm);

} // namespace quanta
