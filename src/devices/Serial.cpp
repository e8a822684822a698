#include "devices/Serial.h"

#include <fmt/format.h>

namespace quanta {

IoStatus Serial::portIn(std::uint16_t, std::span<std::uint8_t> data)
{
	if (data.size() != 1) {
		error_ = fmt::format("serial IN of {} bytes (only 1-byte access is defined)", data.size());
		return IoStatus::Error;
	}
	InputByte in = input_.next();
	switch (in.state) {
	case InputByte::State::Byte:
		data[0] = in.value;
		return IoStatus::Done;
	case InputByte::State::Empty:
		blockedOn_ = ParkReason::Input;
		return IoStatus::Blocked;
	case InputByte::State::End:
		data[0] = 0xff;
		return IoStatus::Done;
	}
	return IoStatus::Done;
}

IoStatus Serial::portOut(std::uint16_t, std::span<const std::uint8_t> data)
{
	if (data.size() != 1) {
		error_ = fmt::format("serial OUT of {} bytes (only 1-byte access is defined)", data.size());
		return IoStatus::Error;
	}
	// A slow or closed stdout: the VM parks and retries this OUT once the
	// console's queue drains (or the run ends), so output never piles up.
	if (!console_.acceptsOutput()) {
		blockedOn_ = ParkReason::Output;
		return IoStatus::Blocked;
	}
	console_.write(vm_, data[0]);
	return IoStatus::Done;
}

} // namespace quanta
