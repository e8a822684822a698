// Bounded channels between two VMs, owned by the hypervisor: the sender's
// message is copied into the channel, and from it into the receiver's
// memory. Pure (no KVM, no loop): blocking is expressed as "would block",
// and the hub records which VM to wake when the other end acts.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace quanta {

struct ChannelSpec {
	std::string name;
	std::size_t producer; // VM index of the sending end
	std::size_t consumer; // VM index of the receiving end
	std::uint32_t slots = 6;
	std::uint32_t maxSize = 256; // bytes per message
};

class Channel {
public:
	explicit Channel(ChannelSpec spec)
		: spec_(std::move(spec)) {}

	const ChannelSpec &spec() const { return spec_; }
	bool full() const { return ring_.size() >= spec_.slots; }
	bool empty() const { return ring_.empty(); }
	std::uint32_t used() const { return static_cast<std::uint32_t>(ring_.size()); }
	// Ring positions, as the producer-consumer assignment names them.
	std::uint32_t prodP() const { return static_cast<std::uint32_t>(sent_ % spec_.slots); }
	std::uint32_t consP() const { return static_cast<std::uint32_t>(received_ % spec_.slots); }
	std::uint64_t sent() const { return sent_; }
	std::uint64_t received() const { return received_; }
	bool producerGone() const { return producerGone_; }
	bool consumerGone() const { return consumerGone_; }

	void push(std::span<const std::uint8_t> message);
	std::vector<std::uint8_t> pop();
	void markGone(std::size_t vm);

private:
	ChannelSpec spec_;
	std::deque<std::vector<std::uint8_t>> ring_;
	std::uint64_t sent_ = 0;
	std::uint64_t received_ = 0;
	bool producerGone_ = false;
	bool consumerGone_ = false;
};

// What a VM is parked on, for wake-ups and the deadlock report.
struct ChannelWait {
	std::size_t channel;
	bool sending;
};

// All channels of a run. Guest calls return a result or "would block"; a
// VM that blocks is remembered so the peer's next action wakes it.
class ChannelHub {
public:
	static constexpr std::int32_t kWouldBlock = 1; // not an error code: park

	ChannelHub(std::vector<ChannelSpec> specs, std::size_t vmCount);

	std::size_t size() const { return channels_.size(); }
	const Channel &channel(std::size_t i) const { return channels_[i]; }

	// Returns bytes sent/received, kWouldBlock, or a negative QUANTA_E*.
	std::int32_t send(std::size_t vm, std::uint32_t channel, std::span<const std::uint8_t> message,
			  bool nonBlocking);
	std::int32_t receive(std::size_t vm, std::uint32_t channel, std::span<std::uint8_t> buffer,
			     bool nonBlocking);
	// 0 or a negative QUANTA_E* if the VM is not an end of the channel.
	std::int32_t checkEnd(std::size_t vm, std::uint32_t channel) const;

	// The VM stopped: its channels' peers get EPIPE instead of waiting.
	void vmStopped(std::size_t vm);

	// VMs whose wait is over, collected for the loop to wake; cleared.
	std::vector<std::size_t> takeWakeups();
	std::optional<ChannelWait> waitOf(std::size_t vm) const { return waits_[vm]; }
	std::string describeWait(std::size_t vm) const;

private:
	void wakeWaiter(std::size_t channel, bool sending);

	std::vector<Channel> channels_;
	std::vector<std::optional<ChannelWait>> waits_;
	std::vector<std::size_t> wakeups_;
};

} // namespace quanta
