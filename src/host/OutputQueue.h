// Guest output on its way to stdout: a bounded byte queue in front of a
// file descriptor.
//
// Blocking mode writes through at once (a regular file, the KVM probe's
// pipe, unit tests). Non-blocking mode never lets write(2) stall the one
// thread: what the reader cannot take yet stays queued until the fd is
// writable again (the run loop watches fd()), and past kHighWater the
// console stops taking output so the VM that writes parks: back-pressure
// instead of growth. A reader that goes away (EPIPE) or any other write
// error closes the queue: what is queued and everything after is dropped
// and counted, and the run is told to end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/UniqueFd.h"

namespace quanta {

class OutputQueue {
public:
	// Above this many queued bytes writers should wait (acceptsMore()).
	static constexpr std::size_t kHighWater = 64 * 1024;
	// Parked writers are woken when the queue drains below this.
	static constexpr std::size_t kLowWater = 16 * 1024;
	// Never held, whatever a writer that ignores acceptsMore() does:
	// bytes beyond it are dropped and counted.
	static constexpr std::size_t kHardLimit = 4 * kHighWater;

	enum class Mode {
		Blocking,
		NonBlocking,
	};

	// fd is not owned. In NonBlocking mode a pipe or terminal is reopened
	// through /proc/self/fd with O_NONBLOCK, so the flag never leaks to
	// the shell that shares the original file description; where that is
	// impossible (a socket) each write is guarded by poll() and kept to
	// PIPE_BUF bytes. A regular file is always written through.
	OutputQueue(int fd, Mode mode);

	// Queues bytes and writes what the fd takes now.
	void append(std::string_view bytes);
	// Queues bytes without writing (several pieces, then one writeSome()).
	void enqueue(std::string_view bytes);
	// Writes as much as the fd takes now (call when it is writable).
	void writeSome();

	std::size_t queued() const { return data_.size() - head_; }
	bool acceptsMore() const { return !closed_ && queued() < kHighWater; }
	bool drained() const { return queued() <= kLowWater; }
	bool closed() const { return closed_; }
	// errno of the write that closed the queue (EPIPE: the reader went away).
	int closeError() const { return closeError_; }
	// Bytes that never reached the fd: closed, or beyond kHardLimit.
	std::uint64_t dropped() const { return dropped_; }
	// The descriptor written to: watch it for writability while queued() > 0.
	int fd() const { return writeFd_; }
	// Bytes of memory the queue holds (bounded by kHardLimit plus slack).
	std::size_t capacity() const { return data_.capacity(); }

private:
	enum class Access {
		Direct,   // blocking writes
		Reopened, // our own O_NONBLOCK file description
		Polled,   // poll() then at most PIPE_BUF bytes
	};

	// Writes what the fd takes now; returns how many bytes it took.
	std::size_t writeFrom(std::string_view bytes);
	void close(int error);
	void silenceStderrOnSamePipe() const;
	void compact();

	int writeFd_;
	UniqueFd reopened_;
	Access access_ = Access::Direct;
	std::string data_;
	std::size_t head_ = 0; // data_[head_..] is still to be written
	bool closed_ = false;
	int closeError_ = 0;
	std::uint64_t dropped_ = 0;
};

} // namespace quanta
