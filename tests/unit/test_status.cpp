// The live status line: its text, and that it stays off when stderr is not
// a terminal.
#include <doctest/doctest.h>

#include <string>
#include <unistd.h>

#include "trace/StatusLine.h"

using namespace quanta;
using namespace quanta::trace;

TEST_CASE("the status line shows elapsed time, shares against targets and exits per second")
{
	std::vector<StatusVm> vms = { { "Neo", 0.7 }, { "Morpheus", 0.3 } };
	StatusSample before{ 1'250'000'000, { 600'000'000, 400'000'000 }, 1000 };
	StatusSample now{ 1'500'000'000, { 750'000'000, 450'000'000 }, 11'500 };
	std::string line = StatusLine::format(vms, 300'000'000, now, &before, 200);
	CHECK(line == "quanta 1.2 s | Neo 62.5%/70% | Morpheus 37.5%/30% | 42.0k exits/s");

	// The first line has no rate yet; nothing has run: 0%.
	StatusSample start{ 300'000'000, { 0, 0 }, 0 };
	CHECK(StatusLine::format(vms, 300'000'000, start, nullptr, 200) ==
	      "quanta 0.0 s | Neo 0.0%/70% | Morpheus 0.0%/30%");
}

TEST_CASE("the status line never wraps: it is cut to the terminal width")
{
	std::vector<StatusVm> vms = { { "Neo", 0.7 }, { "Morpheus", 0.3 } };
	StatusSample now{ 1'000'000'000, { 1, 1 }, 0 };
	CHECK(StatusLine::format(vms, 0, now, nullptr, 20).size() == 20);
}

TEST_CASE("no status line when stderr is not a terminal, or when turned off")
{
	int fds[2];
	REQUIRE(::pipe(fds) == 0);
	CHECK_FALSE(StatusLine::wanted(fds[1], false)); // a pipe, as under a test runner or `2>log`
	CHECK_FALSE(StatusLine::wanted(fds[1], true));
	::close(fds[0]);
	::close(fds[1]);
	CHECK_FALSE(StatusLine::wanted(-1, false));
	if (::isatty(STDERR_FILENO))
		CHECK_FALSE(StatusLine::wanted(STDERR_FILENO, true)); // --no-status
}
