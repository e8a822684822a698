#include "host/Input.h"

#include <cerrno>
#include <unistd.h>

namespace quanta {

InputByte BlockingFdInput::next()
{
	if (head_ == tail_ && !end_) {
		ssize_t n;
		do {
			n = ::read(fd_, buffer_, sizeof(buffer_));
		} while (n < 0 && errno == EINTR);
		if (n <= 0) {
			end_ = true;
		} else {
			head_ = 0;
			tail_ = static_cast<std::size_t>(n);
		}
	}
	if (head_ == tail_)
		return { InputByte::State::End };
	return { InputByte::State::Byte, buffer_[head_++] };
}

} // namespace quanta
