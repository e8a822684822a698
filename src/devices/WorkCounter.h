// Ports 0x10 and 0x11: where the Matrix demo guests (Neo, Morpheus) write
// their loop counter. The device keeps the last value and how many writes
// it saw, so the report can put work done next to time share.
#pragma once

#include <cstring>

#include "devices/PortBus.h"

namespace quanta {

class WorkCounter : public PortDevice {
public:
	IoStatus portIn(std::uint16_t, std::span<std::uint8_t> data) override
	{
		std::memset(data.data(), 0, data.size());
		std::memcpy(data.data(), &last_, std::min(data.size(), sizeof(last_)));
		return IoStatus::Done;
	}

	IoStatus portOut(std::uint16_t, std::span<const std::uint8_t> data) override
	{
		std::uint32_t value = 0;
		std::memcpy(&value, data.data(), std::min(data.size(), sizeof(value)));
		last_ = value;
		++writes_;
		return IoStatus::Done;
	}

	// Work reported some other way (the native hypercall).
	void add(std::uint64_t units) { reported_ += units; }

	std::uint32_t last() const { return last_; }
	std::uint64_t writes() const { return writes_; }
	std::uint64_t reported() const { return reported_; }

private:
	std::uint32_t last_ = 0;
	std::uint64_t writes_ = 0;
	std::uint64_t reported_ = 0;
};

} // namespace quanta
