// Standard input for guests, read without ever blocking the one thread:
// an ev_io watcher reads what is available into a buffer, and a vCPU whose
// serial IN finds the buffer empty is parked until the watcher wakes it.
#pragma once

#include <deque>
#include <ev.h>
#include <functional>

#include "host/Input.h"

namespace quanta {

class StdinReader : public InputSource {
public:
	// onInput runs (inside the loop) whenever new bytes or end of input arrive.
	StdinReader(struct ev_loop *loop, int fd, std::function<void()> onInput);
	~StdinReader() override;
	StdinReader(const StdinReader &) = delete;
	StdinReader &operator=(const StdinReader &) = delete;

	InputByte next() override;
	bool atEnd() const { return end_ && buffer_.empty(); }

private:
	static void onReadable(struct ev_loop *loop, ev_io *watcher, int events);
	void readSome();

	struct ev_loop *loop_;
	int fd_;
	ev_io watcher_;
	std::function<void()> onInput_;
	std::deque<std::uint8_t> buffer_;
	bool end_ = false;
};

} // namespace quanta
