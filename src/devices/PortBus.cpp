#include "devices/PortBus.h"

#include <cstring>
#include <fmt/format.h>
#include <stdexcept>

namespace quanta {

void PortBus::attach(std::uint16_t base, std::uint16_t count, PortDevice &device, std::string name)
{
	if (count == 0 || std::uint32_t{ base } + count > 0x10000)
		throw std::invalid_argument(fmt::format("{}: bad port range {:#x}+{}", name, base, count));
	std::uint32_t end = std::uint32_t{ base } + count;
	for (const auto &[other, range] : ranges_) {
		std::uint32_t otherEnd = std::uint32_t{ other } + range.count;
		if (base < otherEnd && other < end)
			throw std::invalid_argument(fmt::format(
				"{} at ports {:#x}-{:#x} overlaps {} at {:#x}-{:#x}", name, base, end - 1,
				range.name, other, otherEnd - 1));
	}
	ranges_.emplace(base, Range{ count, &device, std::move(name) });
}

const std::pair<const std::uint16_t, PortBus::Range> *PortBus::find(std::uint16_t port) const
{
	auto it = ranges_.upper_bound(port);
	if (it == ranges_.begin())
		return nullptr;
	--it;
	if (port >= std::uint32_t{ it->first } + it->second.count)
		return nullptr;
	return &*it;
}

const std::string *PortBus::deviceName(std::uint16_t port) const
{
	auto *entry = find(port);
	return entry ? &entry->second.name : nullptr;
}

PortBus::Result PortBus::access(std::uint16_t port, bool isOut, std::span<std::uint8_t> data)
{
	auto *entry = find(port);
	if (!entry) {
		++unknownCount_;
		if (unknownPolicy_ == UnknownPortPolicy::Fault)
			return { IoStatus::Error, true, {} };
		if (!isOut)
			std::memset(data.data(), 0xff, data.size());
		return { IoStatus::Done, true, {} };
	}
	PortDevice &device = *entry->second.device;
	std::uint16_t offset = static_cast<std::uint16_t>(port - entry->first);
	IoStatus status = isOut ? device.portOut(offset, data) : device.portIn(offset, data);
	switch (status) {
	case IoStatus::Error:
		return { status, false, device.lastError() };
	case IoStatus::Blocked:
		return { status, false, {}, device.blockedOn() };
	case IoStatus::Stop:
		return { status, false, {}, {}, device.stopStatus() };
	case IoStatus::Done:
	case IoStatus::Yield:
		break;
	}
	return { status, false, {} };
}

PortBus::Result PortBus::dispatch(const KvmIoExit &io, std::span<std::uint8_t> data)
{
	if (std::size_t{ io.size } * io.count > data.size()) {
		resumeIndex_ = 0;
		return { IoStatus::Error, false,
			 fmt::format("{} elements of {} bytes do not fit the {}-byte data area", io.count, io.size,
				     data.size()) };
	}
	bool isOut = io.direction == KVM_EXIT_IO_OUT;
	for (std::uint32_t i = resumeIndex_; i < io.count; ++i) {
		std::span<std::uint8_t> element = data.subspan(std::size_t{ i } * io.size, io.size);
		Result result = access(io.port, isOut, element);
		if (result.status == IoStatus::Blocked) {
			resumeIndex_ = i;
			return result;
		}
		if (result.status != IoStatus::Done) {
			resumeIndex_ = 0;
			return result;
		}
	}
	resumeIndex_ = 0;
	return { IoStatus::Done, false, {} };
}

} // namespace quanta
