// A virtual L2 switch inside quanta (`--net VM:NAME=switch:SWITCH`): the net
// devices of several VMs on one learning switch, with no root and no host
// interface. Frames are copied into bounded per-port queues; a full queue
// drops the frame and counts it. Single-threaded like the rest of quanta:
// a frame is delivered while the sender's hypercall is handled, and the
// receiving port's wake-up (set by the run loop) unparks a VM waiting in
// poll.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hvt/HvtDevices.h"

namespace quanta::hvt {

class Switch;

class SwitchPort : public NetPort {
public:
	SwitchPort(Switch &owner, std::size_t index);

	bool send(std::span<const std::uint8_t> frame) override;
	std::optional<std::size_t> receive(std::span<std::uint8_t> out) override;
	bool readable() override { return !inbox_.empty(); }
	void setWakeup(std::function<void()> wakeup) override { wakeup_ = std::move(wakeup); }

	// Called by the switch: false when the queue is full (dropped).
	bool deliver(std::span<const std::uint8_t> frame);
	std::uint64_t dropped() const { return dropped_; }

private:
	Switch &owner_;
	std::size_t index_;
	std::deque<std::vector<std::uint8_t>> inbox_;
	std::function<void()> wakeup_;
	std::uint64_t dropped_ = 0;
};

class Switch {
public:
	static constexpr std::size_t kQueueFrames = 256;

	explicit Switch(std::string name)
		: name_(std::move(name)) {}
	const std::string &name() const { return name_; }

	std::unique_ptr<SwitchPort> connect();
	// Forwards a frame from port `from`: to the port that last sent from
	// its destination MAC, else (broadcast, multicast, unknown) to every
	// other port. Returns false if any delivery was dropped.
	bool forward(std::size_t from, std::span<const std::uint8_t> frame);
	void disconnect(std::size_t index);

	std::uint64_t forwarded() const { return forwarded_; }
	std::uint64_t dropped() const { return dropped_; }

private:
	std::string name_;
	std::vector<SwitchPort *> ports_; // null once disconnected
	std::map<std::array<std::uint8_t, 6>, std::size_t> macTable_;
	std::uint64_t forwarded_ = 0;
	std::uint64_t dropped_ = 0;
};

// The switches of one run, by name; they outlive every VM's ports.
class SwitchHub {
public:
	Switch &get(const std::string &name);
	const std::map<std::string, std::unique_ptr<Switch>> &switches() const { return switches_; }

private:
	std::map<std::string, std::unique_ptr<Switch>> switches_;
};

// What --net accepts: "switch:NAME" (a port on that switch of `hub`), or a
// host tap interface name.
NetOpener netOpener(SwitchHub *hub);

} // namespace quanta::hvt
