#include <doctest/doctest.h>

#include "base/Parse.h"

using namespace quanta;

TEST_CASE("parseUnsigned accepts decimal and hex, nothing else")
{
	CHECK(parseUnsigned("0") == 0u);
	CHECK(parseUnsigned("65536") == 65536u);
	CHECK(parseUnsigned("0x10000") == 0x10000u);
	CHECK(parseUnsigned("0XfF") == 0xffu);
	CHECK_FALSE(parseUnsigned(""));
	CHECK_FALSE(parseUnsigned("0x"));
	CHECK_FALSE(parseUnsigned("12k"));
	CHECK_FALSE(parseUnsigned("-1"));
	CHECK_FALSE(parseUnsigned("99999999999999999999999"));
}

TEST_CASE("parseDuration needs a unit and a positive value")
{
	CHECK(parseDuration("10ms") == 10'000'000);
	CHECK(parseDuration("250us") == 250'000);
	CHECK(parseDuration("2s") == 2'000'000'000);
	CHECK(parseDuration("1.5s") == 1'500'000'000);
	CHECK(parseDuration("100ns") == 100);
	CHECK_FALSE(parseDuration("10"));
	CHECK_FALSE(parseDuration("ms"));
	CHECK_FALSE(parseDuration("0ms"));
	CHECK_FALSE(parseDuration("-5ms"));
	CHECK_FALSE(parseDuration("10m"));
	CHECK_FALSE(parseDuration("1e30s"));
}
