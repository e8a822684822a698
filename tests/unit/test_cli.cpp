#include <doctest/doctest.h>
#include <string>
#include <vector>

#include "app/Options.h"
#include "base/Error.h"

using namespace quanta;

namespace {

CommandLine parse(std::vector<std::string> args)
{
	args.insert(args.begin(), "quanta");
	return parseCommandLine(args);
}

bool oneLine(const std::string &message)
{
	return !message.empty() && message.find('\n') == message.size() - 1;
}

} // namespace

TEST_CASE("mini_hypervisor forms parse")
{
	auto cli = parse({ "-m", "4", "-p", "2", "-g", "guest.img" });
	REQUIRE(cli.options);
	REQUIRE(cli.options->guests.size() == 1);
	CHECK(cli.options->guests[0].memoryBytes == 4u << 20);
	CHECK(cli.options->guests[0].pageSize == PageSize::Size2M);
	CHECK(cli.options->guests[0].imagePath == "guest.img");

	cli = parse({ "--memory", "8", "--page", "4", "--guest", "g1.img", "g2.img", "-f", "a.txt", "b.png" });
	REQUIRE(cli.options);
	REQUIRE(cli.options->guests.size() == 2);
	CHECK(cli.options->guests[1].imagePath == "g2.img");
	CHECK(cli.options->guests[1].memoryBytes == 8u << 20);
	CHECK(cli.options->guests[0].pageSize == PageSize::Size4K);
	CHECK(cli.options->sharedFiles == std::vector<std::string>{ "a.txt", "b.png" });
}

TEST_CASE("defaults: 2 MiB, 4 KiB pages, mode from the image, names from file names")
{
	auto cli = parse({ "-g", "dir/neo.img", "other/neo.img", "x.elf" });
	REQUIRE(cli.options);
	const auto &g = cli.options->guests;
	CHECK(g[0].memoryBytes == 2u << 20);
	CHECK(g[0].pageSize == PageSize::Size4K);
	CHECK_FALSE(g[0].mode);
	CHECK(g[0].name == "neo");
	CHECK(g[1].name == "neo-2");
	CHECK(g[2].name == "x");
}

TEST_CASE("flat image placement options")
{
	auto cli = parse({ "--mode", "real", "--load", "0x10000", "--entry", "0x10004", "--cs-base", "65536", "-g", "a" });
	REQUIRE(cli.options);
	const auto &g = cli.options->guests[0];
	CHECK(g.mode == CpuMode::Real);
	CHECK(g.flatLoad == 0x10000u);
	CHECK(g.flatEntry == 0x10004u);
	CHECK(g.csBase == 0x10000u);
}

TEST_CASE("bad values give one line and exit status 2")
{
	for (auto args : std::vector<std::vector<std::string>>{
		     { "-m", "3X", "-g", "a" },
		     { "-m", "3", "-p", "2", "-g", "a" },
		     { "-p", "1", "-g", "a" },
		     { "-m", "4" },
		     { "-g" },
		     { "--mode", "unreal", "-g", "a" },
		     { "--load", "0xzz", "-g", "a" },
		     { "--unknown-ports", "maybe", "-g", "a" },
		     { "--bogus", "-g", "a" },
	     }) {
		auto cli = parse(args);
		CAPTURE(cli.message);
		CHECK_FALSE(cli.options);
		CHECK(cli.exitCode == kExitUsage);
		CHECK(cli.messageIsError);
		CHECK(oneLine(cli.message));
		CHECK(cli.message.rfind("quanta: ", 0) == 0);
	}
}

TEST_CASE("--help prints usage and exits 0")
{
	auto cli = parse({ "--help" });
	CHECK_FALSE(cli.options);
	CHECK(cli.exitCode == 0);
	CHECK(cli.message.find("--memory") != std::string::npos);
	CHECK(cli.message.find("--guest") != std::string::npos);
}
