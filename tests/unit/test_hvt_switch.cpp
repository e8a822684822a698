// The virtual L2 switch without VMs: learning, flooding, bounded queues
// with counted drops, wake-ups on delivery.
#include <doctest/doctest.h>

#include "base/Error.h"
#include "hvt/HvtSwitch.h"

namespace quanta::hvt {

namespace {

std::vector<std::uint8_t> frame(std::uint8_t to, std::uint8_t from, std::uint8_t payload)
{
	std::vector<std::uint8_t> f(60, payload);
	std::array<std::uint8_t, 6> dst{ 2, 0, 0, 0, 0, to }, src{ 2, 0, 0, 0, 0, from };
	if (to == 0xff)
		dst.fill(0xff);
	std::copy(dst.begin(), dst.end(), f.begin());
	std::copy(src.begin(), src.end(), f.begin() + 6);
	return f;
}

std::optional<std::uint8_t> next(SwitchPort &port)
{
	std::vector<std::uint8_t> out(1514);
	auto n = port.receive(out);
	if (!n)
		return std::nullopt;
	REQUIRE(*n == 60);
	return out[59];
}

} // namespace

TEST_CASE("switch: floods the unknown, learns, then delivers to one port")
{
	Switch sw("lan");
	auto a = sw.connect(), b = sw.connect(), c = sw.connect();
	int wakes = 0;
	b->setWakeup([&] { ++wakes; });

	CHECK(a->send(frame(2, 1, 7))); // 2 unknown: flooded to b and c
	CHECK(next(*b) == 7);
	CHECK(next(*c) == 7);
	CHECK_FALSE(next(*a)); // never back to the sender
	CHECK(wakes == 1);

	CHECK(b->send(frame(1, 2, 8))); // 1 was learnt on port a
	CHECK(next(*a) == 8);
	CHECK_FALSE(next(*c));
	CHECK(a->send(frame(2, 1, 9))); // 2 learnt on port b now
	CHECK(next(*b) == 9);
	CHECK_FALSE(next(*c));

	CHECK(c->send(frame(0xff, 3, 10))); // broadcast
	CHECK(next(*a) == 10);
	CHECK(next(*b) == 10);
	CHECK(sw.forwarded() == 6);

	CHECK_FALSE(a->send(std::vector<std::uint8_t>(10, 0))); // not a frame
}

TEST_CASE("switch: a full queue drops and counts; the rest are kept in order")
{
	Switch sw("lan");
	auto a = sw.connect(), b = sw.connect();
	for (std::size_t i = 0; i < Switch::kQueueFrames; ++i)
		CHECK(a->send(frame(2, 1, static_cast<std::uint8_t>(i))));
	CHECK_FALSE(a->send(frame(2, 1, 0xee)));
	CHECK(sw.dropped() == 1);
	CHECK(b->dropped() == 1);
	CHECK(next(*b) == 0);
	CHECK(next(*b) == 1);
	CHECK(b->readable());
}

TEST_CASE("switch: a disconnected port gets nothing; names pick switches")
{
	SwitchHub hub;
	Switch &lan = hub.get("lan");
	CHECK(&hub.get("lan") == &lan);
	CHECK(&hub.get("other") != &lan);
	auto a = lan.connect(), b = lan.connect();
	lan.disconnect(1);
	CHECK(a->send(frame(2, 1, 1)));
	CHECK(lan.forwarded() == 0);

	NetOpener open = netOpener(&hub);
	auto port = open("service0", "switch:lan");
	CHECK(port != nullptr);
	CHECK_THROWS_AS(open("service0", "switch:"), UsageError);
	CHECK_THROWS_AS(netOpener(nullptr)("service0", "switch:lan"), UsageError);
}

} // namespace quanta::hvt
