// escapeForLog and WarningLimiter: guest-controlled text in quanta's own
// lines cannot forge a line or reach the terminal raw, and a flood of one
// warning becomes a few lines and a count.
#include <doctest/doctest.h>
#include <string>

#include "base/Text.h"

namespace quanta {

TEST_CASE("escapeForLog: printable ASCII as is, everything else as \\xNN, a backslash doubled")
{
	CHECK(escapeForLog("data.txt") == "data.txt");
	CHECK(escapeForLog("a b~") == "a b~");
	CHECK(escapeForLog("x\nquanta: Morpheus: stopped: FORGED") == "x\\x0aquanta: Morpheus: stopped: FORGED");
	CHECK(escapeForLog("\x1b[2J") == "\\x1b[2J");
	CHECK(escapeForLog(std::string("a\0b", 3)) == "a\\x00b");
	CHECK(escapeForLog("\x7f\x80\xff") == "\\x7f\\x80\\xff");
	CHECK(escapeForLog("c:\\x41") == "c:\\\\x41"); // a literal "\x41" cannot pass for an escape
	CHECK(escapeForLog("") == "");
}

TEST_CASE("escapeForLog: capped at 64 input bytes by default, then ...")
{
	CHECK(escapeForLog(std::string(64, 'n')) == std::string(64, 'n'));
	CHECK(escapeForLog(std::string(65, 'n')) == std::string(64, 'n') + "...");
	CHECK(escapeForLog(std::string(5000, '\n')).size() == 64 * 4 + 3);
	CHECK(escapeForLog("abcdef", 3) == "abc...");
	// Whatever the input, the output is one printable line.
	std::string all;
	for (int c = 0; c < 256; ++c)
		all += static_cast<char>(c);
	for (char c : escapeForLog(all, 1000))
		CHECK((c >= 0x20 && c < 0x7f));
}

TEST_CASE("groupThousands")
{
	CHECK(groupThousands(0) == "0");
	CHECK(groupThousands(999) == "999");
	CHECK(groupThousands(1000) == "1,000");
	CHECK(groupThousands(12345) == "12,345");
	CHECK(groupThousands(1234567) == "1,234,567");
	CHECK(groupThousands(18446744073709551615u) == "18,446,744,073,709,551,615");
}

TEST_CASE("warningKind: quoted names and numbers do not make a warning new")
{
	CHECK(warningKind("file: 'a/b' is a path") == warningKind("file: 'x\\x0a/y' is a path"));
	CHECK(warningKind("file: unknown opcode 66 ignored") == "file: unknown opcode # ignored");
	CHECK(warningKind("file: unknown opcode 66") != warningKind("file: 'x' is a path"));
	CHECK(warningKind(std::string(500, 'k')).size() == 80);
}

TEST_CASE("WarningLimiter: past 64 kinds, new kinds share one entry")
{
	WarningLimiter limiter(1, 1000);
	for (int i = 0; i < 64; ++i)
		CHECK(limiter.admit("kind " + std::to_string(i), "line", 0).size() == 1);
	CHECK(limiter.admit("kind 64", "line", 0).size() == 1);
	CHECK(limiter.admit("kind 65", "line", 0).empty());
	auto held = limiter.flush();
	REQUIRE(held.size() == 1);
	CHECK(held[0] == "(other warnings) ... 1 more like this");
}

TEST_CASE("WarningLimiter: a burst per window passes, the rest is counted once the window ends")
{
	WarningLimiter limiter(3, 1000);
	int shown = 0;
	for (int i = 0; i < 12348; ++i) {
		auto lines = limiter.admit("file:", "file: bad " + std::to_string(i), 10);
		shown += static_cast<int>(lines.size());
	}
	CHECK(shown == 3);
	// The next window: first the count of what was held back, then the line.
	auto lines = limiter.admit("file:", "file: bad again", 1010);
	REQUIRE(lines.size() == 2);
	CHECK(lines[0] == "file: ... 12,345 more like this");
	CHECK(lines[1] == "file: bad again");
	CHECK(limiter.flush().empty());
}

TEST_CASE("WarningLimiter: kinds are limited apart; flush reports what is still held back")
{
	WarningLimiter limiter(1, 1000);
	CHECK(limiter.admit("a", "a 1", 0).size() == 1);
	CHECK(limiter.admit("b", "b 1", 0).size() == 1);
	CHECK(limiter.admit("a", "a 2", 1).empty());
	CHECK(limiter.admit("a", "a 3", 2).empty());
	auto held = limiter.flush();
	REQUIRE(held.size() == 1);
	CHECK(held[0] == "a ... 2 more like this");
	CHECK(limiter.flush().empty());
}

TEST_CASE("WarningLimiter: a clock that jumps back or to the far end neither overflows nor sticks")
{
	WarningLimiter limiter(1, 1'000'000'000);
	CHECK(limiter.admit("k", "1", INT64_MAX - 5).size() == 1);
	CHECK(limiter.admit("k", "2", INT64_MAX).empty());
	auto lines = limiter.admit("k", "3", 0); // backwards: a new window
	REQUIRE(lines.size() == 2);
	CHECK(lines[0] == "k ... 1 more like this");
}

} // namespace quanta
