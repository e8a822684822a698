#include <cstring>
#include <doctest/doctest.h>
#include <stdexcept>
#include <vector>

#include "devices/PortBus.h"

using namespace quanta;

namespace {

// Records accesses; IN returns offset-tagged bytes; can be told to block.
class Recorder : public PortDevice {
public:
	IoStatus portIn(std::uint16_t offset, std::span<std::uint8_t> data) override
	{
		if (blockAfter >= 0 && ins == blockAfter) {
			blockAfter = -1;
			return IoStatus::Blocked;
		}
		++ins;
		std::memset(data.data(), 0x40 + offset + ins, data.size());
		return IoStatus::Done;
	}
	IoStatus portOut(std::uint16_t offset, std::span<const std::uint8_t> data) override
	{
		if (data[0] == 0xee)
			return IoStatus::Error;
		outs.push_back({ offset, std::vector<std::uint8_t>(data.begin(), data.end()) });
		return IoStatus::Done;
	}
	std::string lastError() const override { return "bad byte"; }

	int ins = 0;
	int blockAfter = -1;
	std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>> outs;
};

// A kvm_run page with a data area for rep string I/O.
struct FakeRun {
	alignas(kvm_run) std::uint8_t page[4096] = {};
	kvm_run &run() { return *reinterpret_cast<kvm_run *>(page); }
	std::uint8_t *data() { return page + 1024; }
	PortBus::Result dispatch(PortBus &bus) { return bus.dispatch(run().io, { data(), sizeof(page) - 1024 }); }

	void io(std::uint16_t port, bool out, std::uint8_t size, std::uint32_t count)
	{
		run().exit_reason = KVM_EXIT_IO;
		run().io.port = port;
		run().io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
		run().io.size = size;
		run().io.count = count;
		run().io.data_offset = 1024;
	}
};

} // namespace

TEST_CASE("overlapping registrations are rejected")
{
	PortBus bus;
	Recorder a, b;
	bus.attach(0x100, 8, a, "a");
	CHECK_THROWS_AS(bus.attach(0x107, 1, b, "b"), std::invalid_argument);
	CHECK_THROWS_AS(bus.attach(0x0f0, 0x11, b, "b"), std::invalid_argument);
	CHECK_THROWS_AS(bus.attach(0xffff, 2, b, "b"), std::invalid_argument);
	CHECK_THROWS_AS(bus.attach(0x200, 0, b, "b"), std::invalid_argument);
	CHECK_NOTHROW(bus.attach(0x108, 1, b, "b"));
	CHECK_NOTHROW(bus.attach(0x0ff, 1, b, "b2"));
	CHECK(*bus.deviceName(0x107) == "a");
	CHECK(*bus.deviceName(0x108) == "b");
	CHECK(bus.deviceName(0x109) == nullptr);
}

TEST_CASE("devices see offsets, and rep counts are split by the bus")
{
	PortBus bus;
	Recorder dev;
	bus.attach(0x300, 4, dev, "dev");
	FakeRun fake;
	fake.io(0x302, true, 2, 3);
	const std::uint8_t payload[] = { 1, 2, 3, 4, 5, 6 };
	std::memcpy(fake.data(), payload, sizeof(payload));
	CHECK(fake.dispatch(bus).status == IoStatus::Done);
	REQUIRE(dev.outs.size() == 3);
	CHECK(dev.outs[0].first == 2);
	CHECK(dev.outs[2].second == std::vector<std::uint8_t>{ 5, 6 });
}

TEST_CASE("a blocked rep IN resumes at the element that blocked")
{
	PortBus bus;
	Recorder dev;
	bus.attach(0x300, 1, dev, "dev");
	FakeRun fake;
	fake.io(0x300, false, 1, 4);
	dev.blockAfter = 2;
	CHECK(fake.dispatch(bus).status == IoStatus::Blocked);
	CHECK(dev.ins == 2);
	CHECK(fake.dispatch(bus).status == IoStatus::Done);
	CHECK(dev.ins == 4);
	const std::uint8_t expected[] = { 0x41, 0x42, 0x43, 0x44 };
	CHECK(std::memcmp(fake.data(), expected, 4) == 0);
}

TEST_CASE("unknown ports fault by default, or read all ones when ignored")
{
	PortBus bus;
	FakeRun fake;
	fake.io(0x80, false, 4, 1);
	auto result = fake.dispatch(bus);
	CHECK(result.status == IoStatus::Error);
	CHECK(result.unknownPort);

	bus.setUnknownPortPolicy(UnknownPortPolicy::Ignore);
	std::memset(fake.data(), 0, 4);
	CHECK(fake.dispatch(bus).status == IoStatus::Done);
	std::uint32_t value;
	std::memcpy(&value, fake.data(), 4);
	CHECK(value == 0xffffffffu);
	CHECK(bus.unknownPortCount() == 2);
}

TEST_CASE("device errors carry the device's reason")
{
	PortBus bus;
	Recorder dev;
	bus.attach(0x10, 1, dev, "dev");
	FakeRun fake;
	fake.io(0x10, true, 1, 1);
	fake.data()[0] = 0xee;
	auto result = fake.dispatch(bus);
	CHECK(result.status == IoStatus::Error);
	CHECK(result.error == "bad byte");
}
