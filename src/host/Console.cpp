#include "host/Console.h"

#include <cerrno>
#include <unistd.h>

namespace quanta {

Console::Console(int fd, bool prefix)
	: fd_(fd), prefix_(prefix)
{
}

std::size_t Console::addVm(std::string name)
{
	nameWidth_ = std::max(nameWidth_, name.size());
	streams_.push_back(Stream{ std::move(name), {}, false });
	return streams_.size() - 1;
}

void Console::write(std::size_t vm, std::uint8_t byte)
{
	Stream &stream = streams_[vm];
	stream.pending.push_back(static_cast<char>(byte));
	if (byte == '\n')
		emit(stream, true);
}

void Console::flush(std::size_t vm)
{
	Stream &stream = streams_[vm];
	if (!stream.pending.empty())
		emit(stream, false);
}

void Console::flushAll()
{
	for (std::size_t i = 0; i < streams_.size(); ++i)
		flush(i);
}

void Console::emit(Stream &stream, bool endOfLine)
{
	std::size_t self = static_cast<std::size_t>(&stream - streams_.data());
	// Our partial line was already ended by another VM's output: the
	// newline that completes it would only print an empty prefixed line.
	if (stream.cutShort && !stream.pending.empty() && stream.pending.front() == '\n')
		stream.pending.erase(0, 1);
	stream.cutShort = false;
	if (stream.pending.empty())
		return;
	std::string out;
	bool multi = prefix_ && streams_.size() > 1;
	// Another VM's partial line is on screen: end it before we start ours.
	if (lastWriter_ != SIZE_MAX && lastWriter_ != self && streams_[lastWriter_].midLine) {
		if (multi) {
			out.push_back('\n');
			streams_[lastWriter_].cutShort = true;
		}
		streams_[lastWriter_].midLine = false;
	}
	if (multi && !stream.midLine) {
		out += stream.name;
		out.append(nameWidth_ - stream.name.size(), ' ');
		out += " | ";
	}
	out += stream.pending;
	stream.pending.clear();
	stream.midLine = !endOfLine;
	lastWriter_ = self;
	writeAll(out);
}

void Console::writeAll(const std::string &text)
{
	beforeOutput();
	const char *data = text.data();
	std::size_t left = text.size();
	while (left > 0) {
		ssize_t n = ::write(fd_, data, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; // stdout closed: output is lost, the VMs go on
		}
		data += n;
		left -= static_cast<std::size_t>(n);
	}
}

} // namespace quanta
