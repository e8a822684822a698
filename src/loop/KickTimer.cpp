#include "loop/KickTimer.h"

#include <cerrno>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/Error.h"

namespace quanta {

namespace {

// Never runs while the mask is in place (see the header); it exists because
// a signal whose action is "ignore" would be discarded instead of pending.
void onKick(int)
{
}

} // namespace

int KickTimer::signal()
{
	return SIGRTMIN;
}

KickTimer::KickTimer()
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, signal());
	if (int err = ::pthread_sigmask(SIG_BLOCK, &set, nullptr))
		throw HostError("pthread_sigmask", err);

	struct sigaction action {};
	action.sa_handler = onKick;
	sigemptyset(&action.sa_mask);
	if (::sigaction(signal(), &action, nullptr) != 0)
		throw HostError("sigaction", errno);

	// The default slack of 50 us lets the kernel defer this thread's
	// wake-ups (the loop's epoll timeouts) to batch them; a slice boundary
	// should not be late by design. Best effort: the timer works either way.
	::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

	sigevent event{};
	event.sigev_notify = SIGEV_THREAD_ID;
	event.sigev_signo = signal();
	event._sigev_un._tid = static_cast<pid_t>(::syscall(SYS_gettid));
	if (::timer_create(CLOCK_MONOTONIC, &event, &timer_) != 0)
		throw HostError("timer_create", errno);
}

KickTimer::~KickTimer()
{
	::timer_delete(timer_);
	drain();
}

namespace {

itimerspec expiryAt(Nanos deadline)
{
	itimerspec spec{};
	spec.it_value.tv_sec = deadline / 1'000'000'000;
	spec.it_value.tv_nsec = deadline % 1'000'000'000;
	return spec;
}

bool fired(const itimerspec &old)
{
	return old.it_value.tv_sec == 0 && old.it_value.tv_nsec == 0;
}

} // namespace

void KickTimer::armAt(Nanos deadline)
{
	const itimerspec spec = expiryAt(deadline);
	if (!live_) {
		::timer_settime(timer_, TIMER_ABSTIME, &spec, nullptr);
		live_ = true;
		return;
	}
	itimerspec old{};
	::timer_settime(timer_, TIMER_ABSTIME, &spec, &old);
	if (fired(old)) {
		// The last slice ended before its kick, which then fired: discard
		// it, or it would end this slice at once.
		drain();
		// The new kick may have fired before the drain and been taken with
		// the old one: set the timer again so it fires now.
		if (monotonicNow() >= deadline)
			::timer_settime(timer_, TIMER_ABSTIME, &spec, nullptr);
	}
}

void KickTimer::cancel()
{
	if (!live_)
		return;
	live_ = false;
	itimerspec off{}, old{};
	::timer_settime(timer_, 0, &off, &old);
	if (fired(old))
		drain();
}

bool KickTimer::consumePending()
{
	if (!drain())
		return false;
	live_ = false;
	return true;
}

bool KickTimer::drain()
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, signal());
	timespec zero{};
	// One call: a timer has one signal queued at most (later expiries
	// count as its overruns).
	return ::sigtimedwait(&set, nullptr, &zero) == signal();
}

sigset_t guestRunSignalMask()
{
	sigset_t mask;
	::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
	sigdelset(&mask, KickTimer::signal());
	sigdelset(&mask, SIGINT);
	sigdelset(&mask, SIGTERM);
	return mask;
}

} // namespace quanta
