#include "devices/NativeHypercalls.h"

#include <cstring>
#include <fmt/format.h>

#include <quanta/abi.h>

namespace quanta {

std::uint64_t deriveSeed(std::uint64_t runSeed, std::size_t vm)
{
	std::uint64_t z = runSeed + (vm + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

NativeHypercalls::NativeHypercalls(GuestContext &guest, WorkCounter &work, std::uint64_t seed,
				   ChannelHub *channels, VmIndex vm)
	: guest_(guest), work_(work), seed_(seed), channels_(channels), vm_(vm.value)
{
}

IoStatus NativeHypercalls::portIn(std::uint16_t, std::span<std::uint8_t> data)
{
	std::int32_t result = lastResult_;
	std::memset(data.data(), 0, data.size());
	std::memcpy(data.data(), &result, std::min(data.size(), sizeof(result)));
	return IoStatus::Done;
}

// Loads the block, runs the handler on it, stores it back with `ret` set.
// A block outside memory cannot carry a result: the call fails with
// EFAULT, readable with an inl, and the VM goes on.
template <typename Block, typename Handler>
IoStatus NativeHypercalls::call(GuestPhysAddr at, Handler handler)
{
	auto block = guest_.memory().load<Block>(at);
	if (!block) {
		guest_.warn(fmt::format("hypercall block at guest-physical {:#x} lies outside memory", raw(at)));
		lastResult_ = QUANTA_EFAULT;
		return IoStatus::Done;
	}
	IoStatus status = handler(*block);
	// A call that would block is retried whole once the VM is woken, so
	// nothing is written back yet.
	if (status == IoStatus::Blocked)
		return status;
	lastResult_ = block->ret;
	guest_.memory().store(at, *block);
	return status;
}

IoStatus NativeHypercalls::channelCall(GuestPhysAddr at, bool send)
{
	return call<quanta_hc_chan>(at, [&](quanta_hc_chan &b) {
		if (!channels_) {
			b.ret = QUANTA_ECHRNG;
			return IoStatus::Done;
		}
		auto buffer = guest_.memory().view(gpa(b.buffer), b.length);
		if (!buffer) {
			b.ret = QUANTA_EFAULT;
			return IoStatus::Done;
		}
		if (b.flags & ~QUANTA_CHAN_NONBLOCK) {
			b.ret = QUANTA_EINVAL;
			return IoStatus::Done;
		}
		bool nonBlocking = (b.flags & QUANTA_CHAN_NONBLOCK) != 0;
		std::int32_t result = send ? channels_->send(vm_, b.channel, *buffer, nonBlocking)
					   : channels_->receive(vm_, b.channel, *buffer, nonBlocking);
		if (result == ChannelHub::kWouldBlock) {
			blockedOn_ = ParkReason::Channel;
			return IoStatus::Blocked;
		}
		b.ret = result;
		return IoStatus::Done;
	});
}

IoStatus NativeHypercalls::channelInfo(GuestPhysAddr at)
{
	return call<quanta_hc_chan_info>(at, [&](quanta_hc_chan_info &b) {
		std::int32_t check = channels_ ? channels_->checkEnd(vm_, b.channel) : QUANTA_ECHRNG;
		if (check < 0) {
			b.ret = check;
			return IoStatus::Done;
		}
		const Channel &channel = channels_->channel(b.channel);
		b.slots = channel.spec().slots;
		b.used = channel.used();
		b.prod_p = channel.prodP();
		b.cons_p = channel.consP();
		b.max_size = channel.spec().maxSize;
		b.sent = channel.sent();
		b.received = channel.received();
		b.ret = QUANTA_OK;
		return IoStatus::Done;
	});
}

IoStatus NativeHypercalls::portOut(std::uint16_t offset, std::span<const std::uint8_t> data)
{
	if (data.size() != 4) {
		error_ = "native hypercalls take a 4-byte OUT of a block address";
		return IoStatus::Error;
	}
	std::uint32_t raw32;
	std::memcpy(&raw32, data.data(), 4);
	GuestPhysAddr at = gpa(raw32);

	switch (offset) {
	case QUANTA_HC_VERSION:
		return call<quanta_hc_version>(at, [](quanta_hc_version &b) {
			b.version = QUANTA_ABI_VERSION;
			b.ret = QUANTA_OK;
			return IoStatus::Done;
		});
	case QUANTA_HC_EXIT:
		return call<quanta_hc_exit>(at, [this](quanta_hc_exit &b) {
			exitStatus_ = b.status;
			b.ret = QUANTA_OK;
			return IoStatus::Stop;
		});
	case QUANTA_HC_YIELD:
		return call<quanta_hc_yield>(at, [](quanta_hc_yield &b) {
			b.ret = QUANTA_OK;
			return IoStatus::Yield;
		});
	case QUANTA_HC_CLOCK:
		return call<quanta_hc_clock>(at, [this](quanta_hc_clock &b) {
			b.ns = static_cast<std::uint64_t>(guest_.uptimeNs());
			b.ret = QUANTA_OK;
			return IoStatus::Done;
		});
	case QUANTA_HC_WORK:
		return call<quanta_hc_work>(at, [this](quanta_hc_work &b) {
			work_.add(b.units);
			b.ret = QUANTA_OK;
			return IoStatus::Done;
		});
	case QUANTA_HC_RANDOM:
		return call<quanta_hc_random>(at, [this](quanta_hc_random &b) {
			b.seed = seed_;
			b.ret = QUANTA_OK;
			return IoStatus::Done;
		});
	case QUANTA_HC_WRITE:
		return call<quanta_hc_write>(at, [this](quanta_hc_write &b) {
			if (b.length > QUANTA_MAX_STRING) {
				b.ret = QUANTA_E2BIG;
				return IoStatus::Done;
			}
			auto bytes = guest_.memory().view(gpa(b.buffer), b.length);
			if (!bytes) {
				b.ret = QUANTA_EFAULT;
				return IoStatus::Done;
			}
			if (!guest_.canPrint()) {
				blockedOn_ = ParkReason::Output; // retried once stdout drains
				return IoStatus::Blocked;
			}
			guest_.print({ reinterpret_cast<const char *>(bytes->data()), bytes->size() });
			b.ret = static_cast<std::int32_t>(b.length);
			return IoStatus::Done;
		});
	case QUANTA_HC_CHAN_SEND:
		return channelCall(at, true);
	case QUANTA_HC_CHAN_RECV:
		return channelCall(at, false);
	case QUANTA_HC_CHAN_INFO:
		return channelInfo(at);
	default:
		lastResult_ = QUANTA_ENOSYS;
		return IoStatus::Done;
	}
}

} // namespace quanta
