// Host facts the loop relies on: open-file limits for many VMs
// (host/FileLimit) and this thread's run_delay (host/RunDelay).
#include <atomic>
#include <ctime>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

#include "host/FileLimit.h"
#include "host/RunDelay.h"

namespace quanta {

TEST_CASE("raiseFileLimit lifts the soft limit to the hard one")
{
	rlimit saved{};
	REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
	REQUIRE(saved.rlim_max >= 64);
	rlimit lowered{ saved.rlim_max / 2, saved.rlim_max };
	REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
	const FileLimit limit = raiseFileLimit();
	rlimit now{};
	REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
	::setrlimit(RLIMIT_NOFILE, &saved);
	CHECK(now.rlim_cur == saved.rlim_max);
	CHECK(limit.soft == saved.rlim_max);
	CHECK(limit.hard == saved.rlim_max);
}

TEST_CASE("openDescriptors counts this process's descriptors")
{
	const std::size_t before = openDescriptors();
	REQUIRE(before >= 3); // at least stdin, stdout, stderr
	const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CHECK(openDescriptors() == before + 1);
	::close(fd);
	CHECK(openDescriptors() == before);
}

TEST_CASE("fileLimitShortfall: two descriptors per VM beside those open")
{
	const FileLimit usual{ 1024, 1024 };
	CHECK_FALSE(fileLimitShortfall(1, 10, usual));
	// 10 open + 32 spare + 2 x 491 = 1024: the last that fits.
	CHECK_FALSE(fileLimitShortfall(491, 10, usual));
	const auto shortfall = fileLimitShortfall(492, 10, usual);
	REQUIRE(shortfall);
	CHECK(*shortfall ==
	      "492 VMs need about 984 open files (2 each) and 10 are open already; the limit is 1024 (hard limit "
	      "1024), enough for about 491 VMs: raise the hard limit (ulimit -Hn, limits.conf) or run fewer VMs");
	CHECK(fileLimitShortfall(4096, 10, FileLimit{ 8192, 8192 }));
	CHECK_FALSE(fileLimitShortfall(4096, 10, FileLimit{ 20000, 20000 }));
	// Already past the limit: room for none.
	const auto none = fileLimitShortfall(1, 2000, usual);
	REQUIRE(none);
	CHECK(none->find("enough for about 0 VMs") != std::string::npos);
}

TEST_CASE("parseRunDelay: the second field of schedstat")
{
	CHECK(parseRunDelay("343638603 14996004 65\n") == Nanos{ 14996004 });
	CHECK(parseRunDelay("0 0 1") == Nanos{ 0 });
	CHECK_FALSE(parseRunDelay(""));
	CHECK_FALSE(parseRunDelay("12345"));
	CHECK_FALSE(parseRunDelay("1 x 2"));
	CHECK_FALSE(parseRunDelay("1 -5 2"));
	CHECK_FALSE(parseRunDelay("1 12ab 2"));
}

TEST_CASE("RunDelay reads this thread's run_delay, which never goes back")
{
	RunDelay delay;
	REQUIRE(delay.available()); // Linux with CONFIG_SCHED_INFO, as Debian's kernels
	const auto before = delay.read();
	REQUIRE(before);
	timespec nap{ 0, 20'000'000 };
	::nanosleep(&nap, nullptr);
	const auto after = delay.read();
	REQUIRE(after);
	CHECK(*after >= *before);
}

namespace {

void spinFor(Nanos ns)
{
	timespec start{}, now{};
	::clock_gettime(CLOCK_MONOTONIC, &start);
	do
		::clock_gettime(CLOCK_MONOTONIC, &now);
	while ((now.tv_sec - start.tv_sec) * 1'000'000'000LL + (now.tv_nsec - start.tv_nsec) < ns);
}

} // namespace

// The read skips the file while the thread was never switched out; a
// thread that shares its CPU with a busy one is switched out and must see
// its wait.
TEST_CASE("RunDelay sees the time a busy thread on the same CPU took")
{
	cpu_set_t saved;
	REQUIRE(::sched_getaffinity(0, sizeof(saved), &saved) == 0);
	const int cpu = ::sched_getcpu();
	REQUIRE(cpu >= 0);
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	REQUIRE(::sched_setaffinity(0, sizeof(one), &one) == 0);

	RunDelay delay;
	REQUIRE(delay.available());
	const auto before = delay.read();
	REQUIRE(before);
	CHECK(*delay.read() >= *before);
	std::atomic<bool> started{ false };
	std::thread hog([&] {
		::sched_setaffinity(0, sizeof(one), &one);
		started = true;
		spinFor(200'000'000);
	});
	while (!started)
		std::this_thread::yield();
	spinFor(200'000'000); // both runnable on one CPU: each waits in turn
	const auto after = delay.read();
	hog.join();
	::sched_setaffinity(0, sizeof(saved), &saved);
	REQUIRE(after);
	CHECK(*after > *before + 1'000'000);
}

} // namespace quanta
