// The 0xE9 serial console: a 1-byte OUT prints, a 1-byte IN reads input
// (0xFF at end of input). Other sizes are a guest error. Both may block:
// IN when no input has arrived yet, OUT while the console cannot take more
// output (stdout is slow or closed).
#pragma once

#include "devices/PortBus.h"
#include "host/Console.h"
#include "host/Input.h"

namespace quanta {

class Serial : public PortDevice {
public:
	Serial(Console &console, std::size_t vm, InputSource &input)
		: console_(console), vm_(vm), input_(input)
	{
	}

	IoStatus portIn(std::uint16_t offset, std::span<std::uint8_t> data) override;
	IoStatus portOut(std::uint16_t offset, std::span<const std::uint8_t> data) override;
	std::string lastError() const override { return error_; }
	ParkReason blockedOn() const override { return blockedOn_; }

private:
	Console &console_;
	std::size_t vm_;
	InputSource &input_;
	std::string error_;
	ParkReason blockedOn_ = ParkReason::Input;
};

} // namespace quanta
