#include "hvt/HvtSwitch.h"

#include <cstring>
#include <fmt/format.h>

#include "base/Error.h"
#include "hvt/HvtTap.h"

namespace quanta::hvt {

SwitchPort::SwitchPort(Switch &owner, std::size_t index)
	: owner_(owner), index_(index)
{
}

bool SwitchPort::send(std::span<const std::uint8_t> frame)
{
	return owner_.forward(index_, frame);
}

std::optional<std::size_t> SwitchPort::receive(std::span<std::uint8_t> out)
{
	if (inbox_.empty())
		return std::nullopt;
	std::vector<std::uint8_t> frame = std::move(inbox_.front());
	inbox_.pop_front();
	std::size_t size = std::min(out.size(), frame.size());
	std::memcpy(out.data(), frame.data(), size);
	return size;
}

bool SwitchPort::deliver(std::span<const std::uint8_t> frame)
{
	if (inbox_.size() >= Switch::kQueueFrames) {
		++dropped_;
		return false;
	}
	inbox_.emplace_back(frame.begin(), frame.end());
	if (wakeup_)
		wakeup_();
	return true;
}

std::unique_ptr<SwitchPort> Switch::connect()
{
	auto port = std::make_unique<SwitchPort>(*this, ports_.size());
	ports_.push_back(port.get());
	return port;
}

void Switch::disconnect(std::size_t index)
{
	if (index < ports_.size())
		ports_[index] = nullptr;
	std::erase_if(macTable_, [&](const auto &entry) { return entry.second == index; });
}

bool Switch::forward(std::size_t from, std::span<const std::uint8_t> frame)
{
	if (frame.size() < 14)
		return false; // not an Ethernet frame
	std::array<std::uint8_t, 6> destination, source;
	std::memcpy(destination.data(), frame.data(), 6);
	std::memcpy(source.data(), frame.data() + 6, 6);
	if (!(source[0] & 1))
		macTable_[source] = from;
	bool delivered = true;
	auto to = [&](std::size_t port) {
		if (port == from || port >= ports_.size() || !ports_[port])
			return;
		if (ports_[port]->deliver(frame)) {
			++forwarded_;
		} else {
			++dropped_;
			delivered = false;
		}
	};
	auto known = macTable_.find(destination);
	if (!(destination[0] & 1) && known != macTable_.end()) {
		to(known->second);
	} else {
		for (std::size_t port = 0; port < ports_.size(); ++port)
			to(port);
	}
	return delivered;
}

Switch &SwitchHub::get(const std::string &name)
{
	auto &slot = switches_[name];
	if (!slot)
		slot = std::make_unique<Switch>(name);
	return *slot;
}

NetOpener netOpener(SwitchHub *hub)
{
	return [hub](const std::string &device, const std::string &target) -> std::unique_ptr<NetPort> {
		if (target.rfind("switch:", 0) == 0) {
			std::string name = target.substr(7);
			if (name.empty())
				throw UsageError(fmt::format("--net {}: switch:NAME needs a name", device));
			if (!hub)
				throw UsageError(fmt::format("--net {}: virtual switches are not available here", device));
			return hub->get(name).connect();
		}
		return std::make_unique<TapPort>(target);
	};
}

} // namespace quanta::hvt
