// `quanta hvt`: solo5-hvt's command line, parsed without running anything.
#include <doctest/doctest.h>

#include "app/HvtCommand.h"
#include "app/Options.h"

namespace quanta {

namespace {

HvtCommandLine parse(std::vector<std::string> rest)
{
	rest.insert(rest.begin(), { "quanta", "hvt" });
	return parseHvtCommand(rest);
}

} // namespace

TEST_CASE("solo5-hvt's command line: options, --, kernel, guest arguments")
{
	HvtCommandLine cli = parse({ "--mem=4096", "--block:storage=/tmp/disk.img", "--block-sector-size:storage=4096",
				     "--net:service0=tap100", "--net-mac:service0=02:00:00:00:00:aB", "--",
				     "test_blk.hvt", "--solo5:quiet", "x" });
	REQUIRE(cli.run);
	CHECK(cli.run->memoryBytes == 4096ull << 20);
	CHECK(cli.run->devices.blockPaths.at("storage") == "/tmp/disk.img");
	CHECK(cli.run->devices.sectorSizes.at("storage") == 4096);
	CHECK(cli.run->devices.netTargets.at("service0") == "tap100");
	CHECK(cli.run->devices.netMacs.at("service0")[5] == 0xab);
	CHECK(cli.run->kernel == "test_blk.hvt");
	CHECK(cli.run->args == std::vector<std::string>{ "--solo5:quiet", "x" });

	HvtCommandLine plain = parse({ "test_hello.hvt", "Hello_Solo5" });
	REQUIRE(plain.run);
	CHECK(plain.run->memoryBytes == 512ull << 20);
	CHECK(plain.run->args == std::vector<std::string>{ "Hello_Solo5" });
}

TEST_CASE("errors: one line and exit status 1, as solo5-hvt")
{
	auto firstLine = [](const HvtCommandLine &cli) { return cli.message.substr(0, cli.message.find('\n')); };
	HvtCommandLine noKernel = parse({ "--mem=64" });
	CHECK_FALSE(noKernel.run);
	CHECK(noKernel.exitCode == 1);
	CHECK(firstLine(noKernel) == "quanta hvt: Missing KERNEL operand");
	CHECK(firstLine(parse({ "--mem=lots", "k.hvt" })) == "quanta hvt: Malformed argument to --mem");
	CHECK(firstLine(parse({ "--mem=0", "k.hvt" })) == "quanta hvt: Malformed argument to --mem");
	CHECK(firstLine(parse({ "--frobnicate", "k.hvt" })) == "quanta hvt: Invalid option: `--frobnicate'");
	CHECK(firstLine(parse({ "--block:bad-name=x", "k.hvt" })) == "quanta hvt: Invalid option: `--block:bad-name=x'");
	CHECK(firstLine(parse({ "--block:storage=", "k.hvt" })) == "quanta hvt: Invalid option: `--block:storage='");
	CHECK(firstLine(parse({ "--block-sector-size:storage=521", "k.hvt" })).starts_with("quanta hvt: Block size must be a multiple of 2 greater than or equal 512"));
	CHECK(firstLine(parse({ "--net-mac:n=02:00", "k.hvt" })).starts_with("quanta hvt: Malformed argument to --net-mac:n"));
	CHECK(parse({ "--frobnicate", "k.hvt" }).messageIsError);
}

TEST_CASE("--help and --version win before the kernel, and exit 0")
{
	HvtCommandLine help = parse({ "--mem=1", "--help" });
	CHECK_FALSE(help.run);
	CHECK(help.exitCode == 0);
	CHECK(help.message.find("usage: quanta hvt") == 0);
	HvtCommandLine version = parse({ "--version", "k.hvt" });
	CHECK(version.exitCode == 0);
	CHECK(version.message.find("ABI version 2") != std::string::npos);
	// After the kernel, --help is the guest's.
	HvtCommandLine guestHelp = parse({ "k.hvt", "--help" });
	REQUIRE(guestHelp.run);
	CHECK(guestHelp.run->args == std::vector<std::string>{ "--help" });
}

TEST_CASE("MAC addresses and device names")
{
	CHECK(parseMac("02:00:5e:10:00:01") == std::array<std::uint8_t, 6>{ 2, 0, 0x5e, 0x10, 0, 1 });
	CHECK_FALSE(parseMac("02:00:5e:10:00"));
	CHECK_FALSE(parseMac("02-00-5e-10-00-01"));
	CHECK_FALSE(parseMac("02:00:5e:10:00:0g"));
	CHECK(parseDeviceAssignment("storage0=/a=b")->second == "/a=b");
	CHECK_FALSE(parseDeviceAssignment("=x"));
	CHECK_FALSE(parseDeviceAssignment(std::string(68, 'a') + "=x"));
	CHECK(parseDeviceAssignment(std::string(67, 'a') + "=x"));
}

TEST_CASE("several hvt guests: devices and command lines per VM by name")
{
	CommandLine cli = parseCommandLine({ "quanta", "-m", "64M", "-g", "a.hvt", "b.hvt", "--block", "a:storage=/d.img",
					     "--block-sector-size", "a:storage=4096", "--cmdline", "b=Hello_Solo5 x",
					     "--net", "b:service0=tap100" });
	REQUIRE(cli.options);
	const auto &guests = cli.options->guests;
	REQUIRE(guests.size() == 2);
	CHECK(guests[0].hvt.devices.blockPaths.at("storage") == "/d.img");
	CHECK(guests[0].hvt.devices.sectorSizes.at("storage") == 4096);
	CHECK(guests[0].hvt.args.empty());
	CHECK(guests[1].hvt.args == std::vector<std::string>{ "Hello_Solo5 x" });
	CHECK(guests[1].hvt.devices.netTargets.at("service0") == "tap100");

	auto error = [](std::vector<std::string> args) {
		args.insert(args.begin(), { "quanta", "-g", "a.hvt", "b.hvt" });
		CommandLine result = parseCommandLine(args);
		CHECK_FALSE(result.options);
		CHECK(result.exitCode == 2);
		return result.message;
	};
	CHECK(error({ "--block", "c:storage=/d.img" }) == "quanta: --block: no VM named 'c'\n");
	CHECK(error({ "--block", "a=/d.img" }) == "quanta: --block: 'a=/d.img' is not VM:NAME=VALUE\n");
	CHECK(error({ "--block", "a:st-orage=/d.img" }).find("is not VM:NAME=VALUE (NAME: 1-67 letters and digits)") !=
	      std::string::npos);
	CHECK(error({ "--block-sector-size", "a:storage=1000" }) ==
	      "quanta: --block-sector-size: Block size must be a multiple of 2 greater than or equal 512\n");
	CHECK(error({ "--net-mac", "a:n=zz" }).find("is not a MAC address") != std::string::npos);
}

} // namespace quanta
