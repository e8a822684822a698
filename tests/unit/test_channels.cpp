// ChannelHub: the pure part of channels between VMs (no KVM, no loop).
// Covers what a guest sees (results, order, copies, ring indices) and what
// the loop relies on (who waits, who is woken, EPIPE when a peer stops).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <quanta/abi.h>

#include "channels/Channel.h"

using namespace quanta;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes(const std::string &s)
{
	return Bytes(s.begin(), s.end());
}

std::string text(const Bytes &b, std::int32_t n)
{
	return std::string(b.begin(), b.begin() + std::min<std::int32_t>(n, static_cast<std::int32_t>(b.size())));
}

ChannelSpec spec(std::size_t from, std::size_t to, std::uint32_t slots = 6, std::uint32_t size = 256,
		 std::string name = "ch")
{
	ChannelSpec s;
	s.name = std::move(name);
	s.producer = from;
	s.consumer = to;
	s.slots = slots;
	s.maxSize = size;
	return s;
}

constexpr bool kBlock = false;
constexpr bool kNonBlock = true;

// Sends a string from vm on channel ch.
std::int32_t send(ChannelHub &hub, std::size_t vm, std::uint32_t ch, const std::string &s,
		  bool nonBlocking = kNonBlock)
{
	Bytes b = bytes(s);
	return hub.send(vm, ch, b, nonBlocking);
}

// Receives into a buffer of cap bytes; returns ret and the text.
std::pair<std::int32_t, std::string> recv(ChannelHub &hub, std::size_t vm, std::uint32_t ch,
					  bool nonBlocking = kNonBlock, std::size_t cap = 256)
{
	Bytes b(cap, 0);
	std::int32_t ret = hub.receive(vm, ch, b, nonBlocking);
	return { ret, ret >= 0 ? text(b, ret) : std::string() };
}

std::vector<std::size_t> sorted(std::vector<std::size_t> v)
{
	std::sort(v.begin(), v.end());
	return v;
}

} // namespace

TEST_CASE("a message goes from the producer to the consumer whole, in order")
{
	ChannelHub hub({ spec(0, 1) }, 2);
	CHECK(hub.size() == 1);
	CHECK(send(hub, 0, 0, "one") == 3);
	CHECK(send(hub, 0, 0, "") == 0); // an empty message is a message
	CHECK(send(hub, 0, 0, "three") == 5);
	CHECK(hub.channel(0).used() == 3);
	CHECK(recv(hub, 1, 0) == std::pair<std::int32_t, std::string>{ 3, "one" });
	CHECK(recv(hub, 1, 0) == std::pair<std::int32_t, std::string>{ 0, "" });
	CHECK(recv(hub, 1, 0) == std::pair<std::int32_t, std::string>{ 5, "three" });
	CHECK(recv(hub, 1, 0).first == QUANTA_EAGAIN);
	CHECK(hub.takeWakeups().empty()); // nobody waited
}

TEST_CASE("the channel keeps its own copy of a message")
{
	ChannelHub hub({ spec(0, 1) }, 2);
	Bytes b = bytes("abcd");
	REQUIRE(hub.send(0, 0, b, kNonBlock) == 4);
	b[0] = 'X'; // the sender reuses its buffer at once
	CHECK(recv(hub, 1, 0).second == "abcd");
}

TEST_CASE("ring indices, counts and used follow the assignment's prod_p and cons_p")
{
	ChannelHub hub({ spec(0, 1, 6) }, 2);
	const Channel &c = hub.channel(0);
	CHECK(c.prodP() == 0);
	CHECK(c.consP() == 0);
	std::uint64_t sent = 0, received = 0;
	// Many laps of the ring with a varying fill level.
	for (int lap = 0; lap < 50; ++lap) {
		int k = lap % 7; // 0..6
		for (int i = 0; i < k && !c.full(); ++i) {
			REQUIRE(send(hub, 0, 0, std::to_string(sent + 1)) > 0);
			++sent;
		}
		int m = (lap * 5) % 7;
		for (int i = 0; i < m && !c.empty(); ++i) {
			auto [ret, s] = recv(hub, 1, 0);
			REQUIRE(ret > 0);
			CHECK(s == std::to_string(received + 1)); // exactly once, in order
			++received;
		}
		CHECK(c.sent() == sent);
		CHECK(c.received() == received);
		CHECK(c.used() == sent - received);
		CHECK(c.used() <= 6);
		CHECK(c.prodP() == sent % 6);
		CHECK(c.consP() == received % 6);
		CHECK(c.prodP() < 6);
		CHECK(c.consP() < 6);
		CHECK((c.consP() + c.used()) % 6 == c.prodP());
	}
	CHECK(sent > 100);
}

TEST_CASE("a full channel: EAGAIN without blocking, else the sender waits")
{
	ChannelHub hub({ spec(0, 1, 2, 16, "buffer") }, 2);
	CHECK(send(hub, 0, 0, "a") == 1);
	CHECK(send(hub, 0, 0, "b") == 1);
	CHECK(hub.channel(0).full());
	CHECK(send(hub, 0, 0, "c", kNonBlock) == QUANTA_EAGAIN);
	CHECK_FALSE(hub.waitOf(0)); // a non-blocking call leaves no wait behind
	CHECK(send(hub, 0, 0, "c", kBlock) == ChannelHub::kWouldBlock);
	REQUIRE(hub.waitOf(0));
	CHECK(hub.waitOf(0)->channel == 0);
	CHECK(hub.waitOf(0)->sending);
	CHECK(hub.describeWait(0) == "sending on channel buffer (full, 2/2 slots used)");
	CHECK(hub.describeWait(1) == "not waiting on a channel");
	CHECK(hub.channel(0).used() == 2); // the blocked message is not queued
	CHECK(hub.takeWakeups().empty());

	// The consumer takes one: the sender is woken, once.
	CHECK(recv(hub, 1, 0).second == "a");
	CHECK(hub.takeWakeups() == std::vector<std::size_t>{ 0 });
	CHECK(hub.takeWakeups().empty());
	CHECK_FALSE(hub.waitOf(0));
	// Its retried call now goes through.
	CHECK(send(hub, 0, 0, "c", kBlock) == 1);
	CHECK(recv(hub, 1, 0).second == "b");
	CHECK(recv(hub, 1, 0).second == "c");
	CHECK(hub.takeWakeups().empty()); // nobody was waiting any more
}

TEST_CASE("an empty channel: EAGAIN without blocking, else the receiver waits")
{
	ChannelHub hub({ spec(0, 1, 6, 256, "data") }, 2);
	CHECK(recv(hub, 1, 0, kNonBlock).first == QUANTA_EAGAIN);
	CHECK_FALSE(hub.waitOf(1));
	CHECK(recv(hub, 1, 0, kBlock).first == ChannelHub::kWouldBlock);
	REQUIRE(hub.waitOf(1));
	CHECK_FALSE(hub.waitOf(1)->sending);
	CHECK(hub.describeWait(1) == "receiving on channel data (empty, 0/6 slots used)");

	CHECK(send(hub, 0, 0, "hi") == 2);
	CHECK(hub.takeWakeups() == std::vector<std::size_t>{ 1 });
	CHECK_FALSE(hub.waitOf(1));
	CHECK(recv(hub, 1, 0, kBlock) == std::pair<std::int32_t, std::string>{ 2, "hi" });
	// A second send wakes nobody: the receiver is not waiting.
	CHECK(send(hub, 0, 0, "x") == 1);
	CHECK(hub.takeWakeups().empty());
}

TEST_CASE("wake-ups: several channels stay independent")
{
	// ch0: 0 -> 1, ch1: 2 -> 1, ch2: 0 -> 3
	ChannelHub hub({ spec(0, 1, 1), spec(2, 1, 1), spec(0, 3, 1) }, 4);
	CHECK(recv(hub, 1, 1, kBlock).first == ChannelHub::kWouldBlock); // 1 waits on ch1
	CHECK(recv(hub, 3, 2, kBlock).first == ChannelHub::kWouldBlock); // 3 waits on ch2
	// Sending on ch0 wakes nobody: 1 waits on ch1, not ch0.
	CHECK(send(hub, 0, 0, "a") == 1);
	CHECK(hub.takeWakeups().empty());
	CHECK(hub.waitOf(1));
	// Sending on ch1 wakes 1 only.
	CHECK(send(hub, 2, 1, "b") == 1);
	CHECK(hub.takeWakeups() == std::vector<std::size_t>{ 1 });
	CHECK(hub.waitOf(3));
	// Sending on ch2 wakes 3.
	CHECK(send(hub, 0, 2, "c") == 1);
	CHECK(hub.takeWakeups() == std::vector<std::size_t>{ 3 });
	// Each channel kept its own message.
	CHECK(recv(hub, 1, 0).second == "a");
	CHECK(recv(hub, 1, 1).second == "b");
	CHECK(recv(hub, 3, 2).second == "c");
}

TEST_CASE("ECHRNG: no such channel, or not this VM's end of it")
{
	ChannelHub hub({ spec(0, 1) }, 3);
	CHECK(send(hub, 0, 1, "x") == QUANTA_ECHRNG); // no channel 1
	CHECK(send(hub, 0, 0xffffffffu, "x") == QUANTA_ECHRNG);
	CHECK(recv(hub, 1, 5).first == QUANTA_ECHRNG);
	CHECK(send(hub, 1, 0, "x") == QUANTA_ECHRNG);  // the consumer cannot send
	CHECK(recv(hub, 0, 0).first == QUANTA_ECHRNG); // the producer cannot receive
	CHECK(send(hub, 2, 0, "x") == QUANTA_ECHRNG);  // a third VM is no end
	CHECK(recv(hub, 2, 0).first == QUANTA_ECHRNG);
	CHECK(send(hub, 1, 0, "x", kBlock) == QUANTA_ECHRNG); // and never waits
	CHECK_FALSE(hub.waitOf(1));
	CHECK(hub.checkEnd(0, 0) == 0);
	CHECK(hub.checkEnd(1, 0) == 0);
	CHECK(hub.checkEnd(2, 0) == QUANTA_ECHRNG);
	CHECK(hub.checkEnd(0, 1) == QUANTA_ECHRNG);
	CHECK(hub.channel(0).sent() == 0);
}

TEST_CASE("E2BIG: a message over the channel's size is refused whole")
{
	ChannelHub hub({ spec(0, 1, 2, 8) }, 2);
	CHECK(send(hub, 0, 0, "12345678") == 8); // exactly size= fits
	CHECK(send(hub, 0, 0, "123456789") == QUANTA_E2BIG);
	CHECK(hub.channel(0).used() == 1);
	// Checked before fullness: a full channel still says E2BIG, not EAGAIN.
	CHECK(send(hub, 0, 0, "x") == 1);
	CHECK(send(hub, 0, 0, "123456789", kBlock) == QUANTA_E2BIG);
	CHECK_FALSE(hub.waitOf(0));
}

TEST_CASE("a receive buffer smaller than the message: cut, full length returned")
{
	ChannelHub hub({ spec(0, 1) }, 2);
	CHECK(send(hub, 0, 0, "three") == 5);
	CHECK(send(hub, 0, 0, "four") == 4);
	Bytes small(2, '-');
	CHECK(hub.receive(1, 0, small, kNonBlock) == 5); // ret > capacity: it was cut
	CHECK(text(small, 2) == "th");
	CHECK(recv(hub, 1, 0).second == "four"); // the cut message is gone
}

TEST_CASE("EPIPE: the consumer stops")
{
	ChannelHub hub({ spec(0, 1, 1) }, 2);
	CHECK(send(hub, 0, 0, "a") == 1);
	CHECK(send(hub, 0, 0, "b", kBlock) == ChannelHub::kWouldBlock);
	hub.vmStopped(1);
	CHECK(hub.channel(0).consumerGone());
	CHECK(hub.takeWakeups() == std::vector<std::size_t>{ 0 }); // not left parked
	CHECK(send(hub, 0, 0, "b", kBlock) == QUANTA_EPIPE);
	CHECK(send(hub, 0, 0, "b", kNonBlock) == QUANTA_EPIPE);
	CHECK_FALSE(hub.waitOf(0));
}

TEST_CASE("EPIPE: the producer stops; the consumer first drains what is left")
{
	ChannelHub hub({ spec(0, 1) }, 2);
	CHECK(send(hub, 0, 0, "a") == 1);
	CHECK(send(hub, 0, 0, "b") == 1);
	hub.vmStopped(0);
	CHECK(hub.channel(0).producerGone());
	CHECK(recv(hub, 1, 0, kBlock).second == "a");
	CHECK(recv(hub, 1, 0, kBlock).second == "b");
	CHECK(recv(hub, 1, 0, kBlock).first == QUANTA_EPIPE);
	CHECK(recv(hub, 1, 0, kNonBlock).first == QUANTA_EPIPE);
	CHECK_FALSE(hub.waitOf(1));
}

TEST_CASE("EPIPE: a receiver parked on an empty channel is woken when the producer stops")
{
	ChannelHub hub({ spec(0, 1) }, 2);
	CHECK(recv(hub, 1, 0, kBlock).first == ChannelHub::kWouldBlock);
	hub.vmStopped(0);
	CHECK(hub.takeWakeups() == std::vector<std::size_t>{ 1 });
	CHECK(recv(hub, 1, 0, kBlock).first == QUANTA_EPIPE);
}

TEST_CASE("a VM that stops wakes only the peers of its own channels")
{
	// ch0: 0 -> 1, ch1: 2 -> 3
	ChannelHub hub({ spec(0, 1), spec(2, 3) }, 4);
	CHECK(recv(hub, 1, 0, kBlock).first == ChannelHub::kWouldBlock);
	CHECK(recv(hub, 3, 1, kBlock).first == ChannelHub::kWouldBlock);
	hub.vmStopped(2);
	CHECK(hub.takeWakeups() == std::vector<std::size_t>{ 3 });
	CHECK(hub.waitOf(1));
	CHECK_FALSE(hub.channel(0).producerGone());
	hub.vmStopped(0);
	CHECK(hub.takeWakeups() == std::vector<std::size_t>{ 1 });
}

TEST_CASE("a VM that stops while waiting leaves no wait behind")
{
	ChannelHub hub({ spec(0, 1), spec(1, 0) }, 2);
	CHECK(recv(hub, 1, 0, kBlock).first == ChannelHub::kWouldBlock);
	CHECK(recv(hub, 0, 1, kBlock).first == ChannelHub::kWouldBlock);
	hub.vmStopped(1); // stops while parked (e.g. the run is interrupted)
	CHECK_FALSE(hub.waitOf(1));
	// 0 was waiting on ch1, whose producer (1) is gone: woken. 1 itself is
	// not in the list: it stopped.
	CHECK(sorted(hub.takeWakeups()) == std::vector<std::size_t>{ 0 });
	CHECK(recv(hub, 0, 1, kBlock).first == QUANTA_EPIPE);
}

TEST_CASE("the state a deadlock report needs: every parked VM and what it waits on")
{
	// A cycle: 0 receives from 1, 1 from 0.
	ChannelHub hub({ spec(0, 1, 6, 256, "ab"), spec(1, 0, 6, 256, "ba") }, 2);
	CHECK(recv(hub, 0, 1, kBlock).first == ChannelHub::kWouldBlock);
	CHECK(recv(hub, 1, 0, kBlock).first == ChannelHub::kWouldBlock);
	CHECK(hub.takeWakeups().empty());
	CHECK(hub.describeWait(0) == "receiving on channel ba (empty, 0/6 slots used)");
	CHECK(hub.describeWait(1) == "receiving on channel ab (empty, 0/6 slots used)");
}

TEST_CASE("thousands of items through a 6-slot channel: none lost, none duplicated")
{
	// The producer-consumer invariant, with a blocking producer and a
	// consumer taking a varying number per turn, in the order the run loop
	// would give them (a parked side retries after its wake-up).
	ChannelHub hub({ spec(0, 1, 6, 8) }, 2);
	const std::uint32_t total = 5000;
	std::uint32_t next = 1, expect = 1;
	bool producerParked = false, consumerParked = false;
	std::uint32_t rng = 12345;
	auto rand = [&] {
		rng = rng * 1103515245u + 12345u;
		return (rng >> 16) & 0x7fff;
	};
	auto item = [](std::uint32_t v) {
		Bytes b(4);
		for (int i = 0; i < 4; ++i)
			b[i] = static_cast<std::uint8_t>(v >> (8 * i));
		return b;
	};
	int turns = 0;
	while (expect <= total) {
		REQUIRE(++turns < 100000);
		// Producer turn: up to 8 blocking sends, stops when parked.
		if (!producerParked) {
			for (std::uint32_t k = rand() % 9; k > 0 && next <= total; --k) {
				std::int32_t r = hub.send(0, 0, item(next), kBlock);
				if (r == ChannelHub::kWouldBlock) {
					producerParked = true;
					break;
				}
				REQUIRE(r == 4);
				++next;
			}
		}
		for (std::size_t vm : hub.takeWakeups())
			(vm == 0 ? producerParked : consumerParked) = false;
		// Consumer turn.
		if (!consumerParked) {
			for (std::uint32_t m = rand() % 9; m > 0; --m) {
				Bytes b(4);
				std::int32_t r = hub.receive(1, 0, b, kBlock);
				if (r == ChannelHub::kWouldBlock) {
					consumerParked = true;
					break;
				}
				REQUIRE(r == 4);
				std::uint32_t v = b[0] | b[1] << 8 | b[2] << 16 | static_cast<std::uint32_t>(b[3]) << 24;
				REQUIRE(v == expect);
				++expect;
			}
		}
		for (std::size_t vm : hub.takeWakeups())
			(vm == 0 ? producerParked : consumerParked) = false;
		CHECK(hub.channel(0).used() <= 6);
		// Both parked at once would be a deadlock: it must never happen here.
		REQUIRE_FALSE((producerParked && consumerParked));
	}
	CHECK(hub.channel(0).sent() == total);
	CHECK(hub.channel(0).received() == total);
	CHECK(hub.channel(0).empty());
}
