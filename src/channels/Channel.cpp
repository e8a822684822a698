#include "channels/Channel.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <utility>

#include <quanta/abi.h>

namespace quanta {

void Channel::push(std::span<const std::uint8_t> message)
{
	ring_.emplace_back(message.begin(), message.end());
	++sent_;
}

std::vector<std::uint8_t> Channel::pop()
{
	std::vector<std::uint8_t> message = std::move(ring_.front());
	ring_.pop_front();
	++received_;
	return message;
}

void Channel::markGone(std::size_t vm)
{
	if (vm == spec_.producer)
		producerGone_ = true;
	if (vm == spec_.consumer)
		consumerGone_ = true;
}

ChannelHub::ChannelHub(std::vector<ChannelSpec> specs, std::size_t vmCount)
	: waits_(vmCount)
{
	for (ChannelSpec &spec : specs)
		channels_.emplace_back(std::move(spec));
}

std::int32_t ChannelHub::checkEnd(std::size_t vm, std::uint32_t channel) const
{
	if (channel >= channels_.size())
		return QUANTA_ECHRNG;
	const ChannelSpec &spec = channels_[channel].spec();
	return vm == spec.producer || vm == spec.consumer ? 0 : QUANTA_ECHRNG;
}

void ChannelHub::wakeWaiter(std::size_t channel, bool sending)
{
	for (std::size_t vm = 0; vm < waits_.size(); ++vm) {
		if (waits_[vm] && waits_[vm]->channel == channel && waits_[vm]->sending == sending) {
			waits_[vm].reset();
			wakeups_.push_back(vm);
		}
	}
}

std::int32_t ChannelHub::send(std::size_t vm, std::uint32_t index, std::span<const std::uint8_t> message,
			      bool nonBlocking)
{
	if (index >= channels_.size() || channels_[index].spec().producer != vm)
		return QUANTA_ECHRNG;
	Channel &channel = channels_[index];
	if (message.size() > channel.spec().maxSize)
		return QUANTA_E2BIG;
	if (channel.consumerGone())
		return QUANTA_EPIPE;
	if (channel.full()) {
		if (nonBlocking)
			return QUANTA_EAGAIN;
		waits_[vm] = ChannelWait{ index, true };
		return kWouldBlock;
	}
	waits_[vm].reset();
	channel.push(message);
	wakeWaiter(index, false);
	return static_cast<std::int32_t>(message.size());
}

std::int32_t ChannelHub::receive(std::size_t vm, std::uint32_t index, std::span<std::uint8_t> buffer,
				 bool nonBlocking)
{
	if (index >= channels_.size() || channels_[index].spec().consumer != vm)
		return QUANTA_ECHRNG;
	Channel &channel = channels_[index];
	if (channel.empty()) {
		if (channel.producerGone())
			return QUANTA_EPIPE;
		if (nonBlocking)
			return QUANTA_EAGAIN;
		waits_[vm] = ChannelWait{ index, false };
		return kWouldBlock;
	}
	waits_[vm].reset();
	std::vector<std::uint8_t> message = channel.pop();
	// A message larger than the buffer is truncated; the guest sees the
	// full length in ret and can tell.
	// std::copy_n, not memcpy: an empty message's data() may be nullptr,
	// which memcpy may not be given even for zero bytes.
	std::copy_n(message.begin(), std::min(buffer.size(), message.size()), buffer.begin());
	wakeWaiter(index, true);
	return static_cast<std::int32_t>(message.size());
}

void ChannelHub::vmStopped(std::size_t vm)
{
	waits_[vm].reset();
	for (std::size_t i = 0; i < channels_.size(); ++i) {
		Channel &channel = channels_[i];
		if (channel.spec().producer != vm && channel.spec().consumer != vm)
			continue;
		channel.markGone(vm);
		wakeWaiter(i, true);
		wakeWaiter(i, false);
	}
}

std::vector<std::size_t> ChannelHub::takeWakeups()
{
	return std::exchange(wakeups_, {});
}

std::string ChannelHub::describeWait(std::size_t vm) const
{
	if (!waits_[vm])
		return "not waiting on a channel";
	const Channel &channel = channels_[waits_[vm]->channel];
	return fmt::format("{} on channel {} ({}, {}/{} slots used)", waits_[vm]->sending ? "sending" : "receiving",
			   channel.spec().name, waits_[vm]->sending ? "full" : "empty", channel.used(),
			   channel.spec().slots);
}

} // namespace quanta
