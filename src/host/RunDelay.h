// Host steal: how long this thread has waited runnable for a CPU, the
// kernel's run_delay (the second field of /proc/thread-self/schedstat). A
// guest whose KVM_RUN is descheduled by the host is not running, though
// the wall clock inside KVM_RUN goes on; the loop reads this once per
// slice and charges the guest only the rest.
//
// run_delay grows only while the thread is off the CPU, which takes a
// context switch of the thread; getrusage's switch counts are a cheaper
// call than formatting schedstat, so the file is read again only when they
// moved (most slices on a quiet host: none).
#pragma once

#include <optional>
#include <string_view>

#include "base/Nanos.h"
#include "base/UniqueFd.h"

namespace quanta {

class RunDelay {
public:
	// Opens this thread's schedstat; without it (no CONFIG_SCHED_INFO)
	// read() gives nullopt.
	RunDelay();

	bool available() const { return fd_.valid(); }
	// The thread's run_delay so far, in nanoseconds: one getrusage, and
	// one pread when the thread was switched out since the last pread.
	std::optional<Nanos> read();

private:
	std::optional<Nanos> readFile() const;

	UniqueFd fd_;
	std::optional<Nanos> last_; // run_delay at the last pread
	long switchesAtLast_ = -1;  // the thread's context switches then
};

// run_delay from schedstat's text ("cpu_ns run_delay_ns timeslices\n").
std::optional<Nanos> parseRunDelay(std::string_view schedstat);

} // namespace quanta
