// The kick timer without KVM: the signal stays pending while blocked, as it
// does between KVM_RUNs, so consumePending() tells whether a KVM_RUN would
// have returned EINTR. No kick may be lost and no stale one may survive
// into a later slice (see loop/KickTimer.h).
#include <csignal>
#include <doctest/doctest.h>
#include <time.h>

#include "base/Clock.h"
#include "loop/KickTimer.h"

using namespace quanta;

namespace {

constexpr Nanos kMs = 1'000'000;

void sleepUntil(Nanos when)
{
	timespec at{ static_cast<time_t>(when / 1'000'000'000), static_cast<long>(when % 1'000'000'000) };
	while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) != 0) {
	}
}

// What KVM checks before entering the guest: any kick pending, even one
// the kernel would drop when it is taken (a re-armed timer's old signal).
bool kvmWouldSeeKick()
{
	sigset_t pending;
	sigpending(&pending);
	return sigismember(&pending, KickTimer::signal()) == 1;
}

} // namespace

TEST_CASE("a kick that fired is pending until consumed, once")
{
	KickTimer kick;
	const Nanos deadline = monotonicNow() + 2 * kMs;
	kick.armAt(deadline);
	CHECK_FALSE(kick.consumePending());
	sleepUntil(deadline + 5 * kMs);
	CHECK(kvmWouldSeeKick());
	CHECK(kick.consumePending());
	CHECK_FALSE(kick.consumePending());
}

TEST_CASE("a kick never consumed does not end the next slice")
{
	KickTimer kick;
	const Nanos first = monotonicNow() + 1 * kMs;
	kick.armAt(first);
	sleepUntil(first + 5 * kMs); // the slice ended another way; its kick fired since
	const Nanos next = monotonicNow() + 30 * kMs;
	kick.armAt(next);
	CHECK_FALSE(kvmWouldSeeKick());
	CHECK_FALSE(kick.consumePending());
	sleepUntil(next + 5 * kMs);
	CHECK(kick.consumePending());
}

TEST_CASE("re-arming before the old kick fires replaces it")
{
	KickTimer kick;
	const Nanos start = monotonicNow();
	kick.armAt(start + 40 * kMs);
	kick.armAt(start + 2 * kMs);
	sleepUntil(start + 10 * kMs);
	CHECK(kick.consumePending());
	sleepUntil(start + 60 * kMs);
	CHECK_FALSE(kick.consumePending()); // the replaced one never fires
}

TEST_CASE("a deadline already past when a stale kick is discarded still kicks")
{
	KickTimer kick;
	const Nanos first = monotonicNow() + 1 * kMs;
	kick.armAt(first);
	sleepUntil(first + 5 * kMs);
	// The new expiry fires at once, while the stale kick is still queued.
	kick.armAt(monotonicNow() - 1 * kMs);
	sleepUntil(monotonicNow() + 2 * kMs);
	CHECK(kick.consumePending());
	CHECK_FALSE(kick.consumePending());
}

TEST_CASE("cancel: no kick from a slice without a deadline")
{
	KickTimer kick;
	const Nanos start = monotonicNow();
	kick.armAt(start + 3 * kMs);
	kick.cancel(); // before it fires
	sleepUntil(start + 10 * kMs);
	CHECK_FALSE(kick.consumePending());

	const Nanos again = monotonicNow() + 1 * kMs;
	kick.armAt(again);
	sleepUntil(again + 5 * kMs);
	kick.cancel(); // after it fired, unconsumed
	CHECK_FALSE(kvmWouldSeeKick());
	CHECK_FALSE(kick.consumePending());
	const Nanos later = monotonicNow() + 2 * kMs;
	kick.armAt(later);
	sleepUntil(later + 5 * kMs);
	CHECK(kick.consumePending());
}
