#include "loop/StdinReader.h"

#include <cerrno>
#include <unistd.h>

namespace quanta {

StdinReader::StdinReader(struct ev_loop *loop, int fd, std::function<void()> onInput)
	: loop_(loop), fd_(fd), onInput_(std::move(onInput))
{
	ev_io_init(&watcher_, onReadable, fd_, EV_READ);
	watcher_.data = this;
}

StdinReader::~StdinReader()
{
	ev_io_stop(loop_, &watcher_);
}

InputByte StdinReader::next()
{
	if (!buffer_.empty()) {
		std::uint8_t byte = buffer_.front();
		buffer_.pop_front();
		return { InputByte::State::Byte, byte };
	}
	if (end_)
		return { InputByte::State::End };
	// Only watch stdin while a guest wants it, so a quanta in the
	// background never reads (or stops on) the terminal for nothing.
	ev_io_start(loop_, &watcher_);
	return { InputByte::State::Empty };
}

void StdinReader::onReadable(struct ev_loop *, ev_io *watcher, int)
{
	static_cast<StdinReader *>(watcher->data)->readSome();
}

void StdinReader::readSome()
{
	// Readable: one read() cannot block, so fd 0 stays in blocking mode
	// (changing it would affect the shell that shares it).
	std::uint8_t chunk[4096];
	ssize_t n = ::read(fd_, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0)
		end_ = true;
	else
		buffer_.insert(buffer_.end(), chunk, chunk + n);
	ev_io_stop(loop_, &watcher_);
	onInput_();
}

} // namespace quanta
