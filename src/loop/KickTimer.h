// The slice timer and the signal that kicks KVM_RUN out.
//
// Why no kick is ever lost: the kick signal is blocked in this thread at
// all times except inside KVM_RUN, where the vCPU's KVM_SET_SIGNAL_MASK
// unblocks it. A timer that expires while we are in userspace (handling an
// exit, or just before entering the guest) leaves the signal pending, and
// KVM checks for pending unblocked signals before every guest entry, so the
// next KVM_RUN returns EINTR at once instead of running a stale slice. Since
// the signal is blocked whenever userspace code runs, it is never delivered
// to a handler; KVM_RUN returning EINTR is the only effect, and we consume
// the pending signal with sigtimedwait(). A kick left pending by a slice
// that ended for another reason is drained before the next slice is armed.
#pragma once

#include <csignal>
#include <ctime>

#include "base/Clock.h"

namespace quanta {

class KickTimer {
public:
	// Creates a CLOCK_MONOTONIC POSIX timer that signals this thread
	// (SIGEV_THREAD_ID) and blocks the signal here; sets this thread's
	// timer slack to 1 ns (PR_SET_TIMERSLACK); throws HostError.
	KickTimer();
	~KickTimer();
	KickTimer(const KickTimer &) = delete;
	KickTimer &operator=(const KickTimer &) = delete;

	static int signal();

	// One-shot expiry at an absolute monotonic time.
	void armAt(Nanos deadline);
	void disarm();
	// Consumes a pending kick, if any; true if there was one.
	bool consumePending();

private:
	timer_t timer_{};
};

// Signals that may interrupt KVM_RUN: the kick, SIGINT and SIGTERM. They are
// blocked outside KVM_RUN; this is the mask to use inside it.
sigset_t guestRunSignalMask();

} // namespace quanta
