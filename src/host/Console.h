// Where guests' serial output goes. With several VMs each line is prefixed
// with the VM's name (as docker compose does) so interleaved output stays
// readable; partial lines are flushed when a slice ends so nothing waits
// for a newline that may never come.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace quanta {

class Console {
public:
	// fd: where output goes (stdout). prefix: put "name | " before lines.
	Console(int fd, bool prefix);

	// Registers a VM and returns its id; names are padded to align.
	std::size_t addVm(std::string name);

	void write(std::size_t vm, std::uint8_t byte);
	// Writes the VM's partial line, if any (a later byte continues it).
	void flush(std::size_t vm);
	void flushAll();

	// Something else shares the terminal (the live status line): the hook
	// runs before any output, guest or quanta's own, so it can step aside.
	void setBeforeOutput(std::function<void()> hook) { beforeOutput_ = std::move(hook); }
	void beforeOutput() const
	{
		if (beforeOutput_)
			beforeOutput_();
	}

private:
	struct Stream {
		std::string name;
		std::string pending;
		bool midLine = false;  // the last flushed output ended without '\n'
		bool cutShort = false; // another VM ended our partial line for us
	};

	void emit(Stream &stream, bool endOfLine);
	void writeAll(const std::string &text);

	int fd_;
	bool prefix_;
	std::size_t nameWidth_ = 0;
	std::vector<Stream> streams_;
	std::size_t lastWriter_ = SIZE_MAX; // whose partial line is on screen
	std::function<void()> beforeOutput_;
};

} // namespace quanta
