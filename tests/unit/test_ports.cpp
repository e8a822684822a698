// --hypercall-ports: a class's guests that differ only in port numbers run
// unchanged. The table is parsed and checked (no call on another device's
// port, no two OUT or two IN calls on one port), and the device answers on
// the ports given and nowhere else. --echo-ports takes a list of ports.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "app/Options.h"
#include "devices/AssignmentHypercalls.h"
#include "devices/PortBus.h"

using namespace quanta;

namespace {

class FakeGuest : public GuestContext {
public:
	GuestMemory &memory() override { return memory_; }
	Translation translatePointer(std::uint64_t) override { return {}; }
	std::uint64_t pointerBase() override { return 0; }
	void print(std::string_view text) override { printed += text; }
	void warn(std::string_view) override {}
	std::int64_t uptimeNs() const override { return 0; }

	std::string printed;

private:
	GuestMemory memory_{ 1 << 20 };
};

CommandLine commandLine(std::vector<std::string> args)
{
	args.insert(args.begin(), "quanta");
	args.insert(args.end(), { "-g", QUANTA_SOURCE_ROOT "/README.md" });
	return parseCommandLine(args);
}

PortBus::Result out32(PortBus &bus, std::uint16_t port, std::uint32_t value)
{
	std::uint8_t data[4];
	std::memcpy(data, &value, 4);
	return bus.access(port, true, data);
}

std::uint32_t in32(PortBus &bus, std::uint16_t port, PortBus::Result *result = nullptr)
{
	std::uint8_t data[4] = {};
	PortBus::Result r = bus.access(port, false, data);
	if (result)
		*result = r;
	std::uint32_t value;
	std::memcpy(&value, data, 4);
	return value;
}

} // namespace

TEST_CASE("--hypercall-ports: names and ports, over the defaults")
{
	CommandLine cli = commandLine({ "--hypercall-ports", "printStr=0x80,print32bit=129" });
	REQUIRE_MESSAGE(cli.options, cli.message);
	const AssignmentPorts &ports = cli.options->hypercallPorts;
	CHECK(ports.of(AssignmentCall::PrintStr) == 0x80);
	CHECK(ports.of(AssignmentCall::Print32) == 0x81);
	CHECK(ports.of(AssignmentCall::NumExits) == 0xEC); // untouched
	CHECK(commandLine({}).options->hypercallPorts == AssignmentPorts{});
}

TEST_CASE("--hypercall-ports: bad tables get one line naming the problem")
{
	auto error = [](const std::string &value) {
		CommandLine cli = commandLine({ "--hypercall-ports", value });
		CHECK_FALSE(cli.options);
		CHECK(cli.exitCode == 2);
		return cli.message;
	};
	CHECK(error("printString=0x80") ==
	      "quanta: --hypercall-ports: 'printString=0x80' is not NAME=PORT with NAME one of printStr, print32bit, "
	      "numExits, numExitsByType, gvaToHva, gvaToHva.in\n");
	CHECK(error("printStr=0x10000").find("is not a port number") != std::string::npos);
	CHECK(error("printStr=0xE9") == "quanta: --hypercall-ports: printStr=0xe9: port 0xe9 is the serial console's\n");
	CHECK(error("numExits=0x11").find("the work counter's") != std::string::npos);
	CHECK(error("print32bit=0x503").find("a native hypercall's") != std::string::npos);
	CHECK(error("printStr=0x80,print32bit=0x80") ==
	      "quanta: --hypercall-ports: printStr and print32bit are both OUT calls on port 0x80\n");
	CHECK(error("printStr").find("is not NAME=PORT") != std::string::npos);
}

TEST_CASE("the calls answer on the ports given; the old ones are free")
{
	FakeGuest guest;
	ExitStats stats;
	stats.guestExits = 41;
	AssignmentPorts ports;
	ports.set(AssignmentCall::Print32, 0x80);
	ports.set(AssignmentCall::NumExits, 0x80); // IN and OUT share a port
	ports.set(AssignmentCall::Gva, 0x90);
	ports.set(AssignmentCall::Hva, 0x90);
	REQUIRE(checkAssignmentPorts(ports).empty());
	AssignmentHypercalls calls(guest, stats, gpa(0x1000), ports);
	PortBus bus;
	calls.attachTo(bus);

	CHECK(out32(bus, 0x80, 16).status == IoStatus::Done);
	CHECK(guest.printed == "16\n");
	CHECK(in32(bus, 0x80) == 41);
	PortBus::Result result;
	in32(bus, 0xEC, &result); // the default port of numExits is unknown now
	CHECK(result.unknownPort);
	CHECK(out32(bus, 0xEB, 1).unknownPort);
	// A wrong-size access names the ports in use.
	std::uint8_t byte = 1;
	result = bus.access(0x80, true, { &byte, 1 });
	CHECK(result.status == IoStatus::Error);
	CHECK(result.error == "hypercall port takes 4-byte OUT (outl only to 0xEA, 0x80, 0x90)");
}

TEST_CASE("the default ports keep the documented messages")
{
	FakeGuest guest;
	ExitStats stats;
	AssignmentHypercalls calls(guest, stats, gpa(0x1000));
	PortBus bus;
	calls.attachTo(bus);
	std::uint8_t data[4] = {};
	PortBus::Result result = bus.access(0xEA, false, data);
	CHECK(result.error == "hypercall port takes no IN here (inl only from 0xEC, 0xED, 0xEF)");
	result = bus.access(0xEB, true, { data, 1 });
	CHECK(result.error == "hypercall port takes 4-byte OUT (outl only to 0xEA, 0xEB, 0xEE)");
}

TEST_CASE("--echo-ports: a list of ports")
{
	CommandLine cli = commandLine({ "--echo-ports", "0x10,17" });
	REQUIRE_MESSAGE(cli.options, cli.message);
	CHECK(cli.options->echoPorts == std::vector<std::uint16_t>{ 0x10, 17 });
	cli = commandLine({ "--echo-ports", "0x10,ten" });
	CHECK_FALSE(cli.options);
	CHECK(cli.message == "quanta: --echo-ports: 'ten' is not a port number (0 to 0xFFFF, decimal or 0x hex)\n");
}
