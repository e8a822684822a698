#include "host/OutputQueue.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace quanta {

OutputQueue::OutputQueue(int fd, Mode mode)
	: writeFd_(fd)
{
	if (mode == Mode::Blocking)
		return;
	struct stat st;
	if (::fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return; // a file never keeps us waiting for a reader
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		// A new file description of the same pipe or terminal: O_NONBLOCK
		// set on it is ours alone.
		std::string path = fmt::format("/proc/self/fd/{}", fd);
		int own = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (own >= 0) {
			reopened_ = UniqueFd(own);
			writeFd_ = own;
			access_ = Access::Reopened;
			return;
		}
	}
	access_ = Access::Polled;
}

void OutputQueue::append(std::string_view bytes)
{
	if (!closed_ && queued() == 0) {
		// Nothing waits ahead of these bytes: write them without a copy.
		bytes.remove_prefix(writeFrom(bytes));
		if (bytes.empty())
			return;
	}
	enqueue(bytes);
	writeSome();
}

void OutputQueue::enqueue(std::string_view bytes)
{
	if (closed_) {
		dropped_ += bytes.size();
		return;
	}
	std::size_t room = kHardLimit - std::min(kHardLimit, queued());
	if (bytes.size() > room) {
		dropped_ += bytes.size() - room;
		bytes = bytes.substr(0, room);
	}
	if (head_ > 0 && data_.size() + bytes.size() > data_.capacity())
		compact();
	data_.append(bytes);
}

void OutputQueue::writeSome()
{
	std::size_t done = writeFrom({ data_.data() + head_, queued() });
	if (closed_)
		return; // close() emptied the queue
	head_ += done;
	if (head_ == data_.size()) {
		data_.clear();
		head_ = 0;
	}
}

std::size_t OutputQueue::writeFrom(std::string_view bytes)
{
	std::size_t done = 0;
	while (!closed_ && done < bytes.size()) {
		std::size_t want = bytes.size() - done;
		if (access_ == Access::Polled) {
			pollfd p{ writeFd_, POLLOUT, 0 };
			int ready = ::poll(&p, 1, 0);
			if (ready < 0 && errno == EINTR)
				continue;
			if (ready <= 0 || !(p.revents & (POLLOUT | POLLERR | POLLHUP)))
				break;
			// Writable guarantees room for PIPE_BUF bytes, not more.
			want = std::min<std::size_t>(want, PIPE_BUF);
		}
		ssize_t n = ::write(writeFd_, bytes.data() + done, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				close(errno);
			break;
		}
		done += static_cast<std::size_t>(n);
	}
	return done;
}

// The same pipe as stdout (`quanta ... 2>&1 | head`) is just as gone: fd 2
// then goes to /dev/null so quanta's own lines fail quietly, not with an
// exception from a write to a broken pipe.
void OutputQueue::silenceStderrOnSamePipe() const
{
	struct stat out, err;
	if (::fstat(writeFd_, &out) != 0 || ::fstat(STDERR_FILENO, &err) != 0)
		return;
	if (!S_ISFIFO(out.st_mode) || out.st_dev != err.st_dev || out.st_ino != err.st_ino)
		return;
	UniqueFd devNull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
	if (devNull.valid())
		::dup2(devNull.get(), STDERR_FILENO);
}

void OutputQueue::close(int error)
{
	if (error == EPIPE && writeFd_ != STDERR_FILENO)
		silenceStderrOnSamePipe();
	closed_ = true;
	closeError_ = error;
	dropped_ += queued();
	data_.clear();
	data_.shrink_to_fit();
	head_ = 0;
}

void OutputQueue::compact()
{
	if (head_ == 0)
		return;
	data_.erase(0, head_);
	head_ = 0;
}

} // namespace quanta
