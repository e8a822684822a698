// Standard input as guests see it through serial IN.
#pragma once

#include <cstdint>

namespace quanta {

struct InputByte {
	enum class State {
		Byte,
		Empty,
		End
	} state;
	std::uint8_t value = 0;
};

class InputSource {
public:
	virtual ~InputSource() = default;
	// Byte: the next byte. Empty: nothing yet (the vCPU parks). End: EOF.
	virtual InputByte next() = 0;
};

// Never has input: for VMs that are not connected to stdin.
class NoInput : public InputSource {
public:
	InputByte next() override { return { InputByte::State::End }; }
};

// Reads a file descriptor in blocking mode, one buffer at a time.
class BlockingFdInput : public InputSource {
public:
	explicit BlockingFdInput(int fd)
		: fd_(fd) {}
	InputByte next() override;

private:
	int fd_;
	std::uint8_t buffer_[4096];
	std::size_t head_ = 0;
	std::size_t tail_ = 0;
	bool end_ = false;
};

} // namespace quanta
