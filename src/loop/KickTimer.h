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
// the pending signal with sigtimedwait().
//
// Why no stale kick ends a later slice, at one timer call per slice: a
// slice that ends on its kick consumes it, and the timer (one-shot) is then
// idle: nothing to disarm or drain. A slice that ends another way leaves
// its timer armed; the next armAt replaces it in one timer_settime, whose
// old value says whether it had already fired. Only then is its kick
// drained, and if the new deadline passed meanwhile (its kick may have
// merged into the drained one) the timer is set again, so it fires at once.
// A slice without a deadline cancels a live timer the same way.
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

	// One-shot expiry at an absolute monotonic time, replacing the timer's
	// earlier one; an earlier kick nobody consumed is discarded.
	void armAt(Nanos deadline);
	// No kick until the next armAt (a slice without a deadline).
	void cancel();
	// After KVM_RUN returned EINTR: consumes a pending kick, if any; true if
	// there was one.
	bool consumePending();

private:
	// Takes a pending kick; true if one was there.
	bool drain();

	timer_t timer_{};
	// Armed, and its kick neither consumed nor discarded: it may be pending.
	bool live_ = false;
};

// Signals that may interrupt KVM_RUN: the kick, SIGINT and SIGTERM. They are
// blocked outside KVM_RUN; this is the mask to use inside it.
sigset_t guestRunSignalMask();

} // namespace quanta
