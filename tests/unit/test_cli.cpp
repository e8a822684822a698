#include <doctest/doctest.h>
#include <set>
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

namespace {

std::string errorOf(std::vector<std::string> args)
{
	auto cli = parse(std::move(args));
	CHECK_FALSE(cli.options);
	CHECK(cli.exitCode == kExitUsage);
	CHECK(oneLine(cli.message));
	return cli.message;
}

} // namespace

TEST_CASE("memory sizes take units; a bare number is MiB")
{
	auto memory = [](std::vector<std::string> args) {
		args.insert(args.end(), { "-g", "a" });
		auto cli = parse(args);
		INFO(cli.message);
		REQUIRE(cli.options);
		return cli.options->guests[0].memoryBytes;
	};
	CHECK(memory({ "-m", "2M" }) == 2u << 20);
	CHECK(memory({ "-m", "4" }) == 4u << 20);
	CHECK(memory({ "-m", "3" }) == 3u << 20);
	CHECK(memory({ "--memory", "1536K" }) == 1536u << 10);
	CHECK(memory({ "-m", "64M", "-p", "2" }) == 64u << 20);
	CHECK(memory({ "-m", "4G", "-p", "2" }) == 4ull << 30);
	CHECK(memory({ "-m", "10GiB", "-p", "2" }) == 10ull << 30);
	CHECK(memory({ "-m", "18M", "--mode", "long" }) == 18u << 20);
	CHECK(memory({ "-m", "44M", "--mode", "paged" }) == 44u << 20);

	CHECK(errorOf({ "-m", "2X", "-g", "a" }) ==
	      "quanta: --memory: '2X' is not a size (e.g. 2, 64M, 1G; a bare number is MiB)\n");
	CHECK(errorOf({ "-m", "64M", "--mode", "long", "-g", "a" }) ==
	      "quanta: --memory: 64 MiB: long mode with 4 KiB pages maps at most 18 MiB (its page tables fit in 48 "
	      "KiB); -p 2 (2 MiB pages) maps up to 10 GiB\n");
	CHECK(errorOf({ "-m", "45M", "--mode", "paged", "-g", "a" }).find("paged mode with 4 KiB pages maps at most 44 MiB") !=
	      std::string::npos);
	CHECK(errorOf({ "-m", "5G", "--mode", "protected", "-p", "2", "-g", "a" }) ==
	      "quanta: --memory: 5 GiB: protected mode with 2 MiB pages maps at most 4 GiB (a 32-bit guest addresses at "
	      "most 4 GiB)\n");
	CHECK(errorOf({ "-m", "11G", "-p", "2", "-g", "a" }) ==
	      "quanta: --memory: 11 GiB: more than any mode can map with 2 MiB pages (at most 10 GiB)\n");
	CHECK(errorOf({ "-m", "3M", "-p", "2", "-g", "a" }) ==
	      "quanta: --memory: 3 MiB: not a whole number of 2 MiB pages (-p 2)\n");
	CHECK(errorOf({ "-m", "512K", "-g", "a" }) == "quanta: --memory: 512 KiB: guest memory must be at least 1 MiB\n");
	CHECK(errorOf({ "-m", "1025K", "-g", "a" }).find("not a whole number of 4 KiB pages") != std::string::npos);
}

TEST_CASE("durations must be positive; a quantum the host cannot honour warns")
{
	CHECK(errorOf({ "--quantum", "0ms", "-g", "a" }) == "quanta: --quantum: '0ms' must be positive\n");
	CHECK(errorOf({ "--quantum", "-5ms", "-g", "a" }) == "quanta: --quantum: '-5ms' must be positive\n");
	CHECK(errorOf({ "--duration", "0s", "-g", "a" }) == "quanta: --duration: '0s' must be positive\n");
	CHECK(errorOf({ "--quantum", "10", "-g", "a" }) ==
	      "quanta: --quantum: '10' is not a duration (e.g. 10ms, 250us, 3s)\n");

	auto cli = parse({ "--quantum", "50us", "-g", "a" });
	REQUIRE(cli.options);
	CHECK(cli.options->quantum == 50'000);
	REQUIRE(cli.warnings.size() == 1);
	CHECK(cli.warnings[0].rfind("quanta: warning: a quantum of 50us is shorter than this host can honour", 0) == 0);
	CHECK(parse({ "--quantum", "100us", "-g", "a" }).warnings.empty());
	CHECK(parse({ "-g", "a" }).warnings.empty());
}

TEST_CASE("a misspelt option names the closest one")
{
	CHECK(errorOf({ "--qauntum", "1ms", "-g", "a" }) == "quanta: unknown option --qauntum; did you mean --quantum?\n");
	CHECK(errorOf({ "-g", "a", "--polcy=rr" }) == "quanta: unknown option --polcy; did you mean --policy?\n");
	CHECK(errorOf({ "--shares", "1", "-g", "a" }) == "quanta: unknown option --shares; did you mean --share?\n");
	CHECK(errorOf({ "--xyzzy-frobnicate", "-g", "a" }) == "quanta: unknown option --xyzzy-frobnicate (see --help)\n");
	CHECK(closestOption("--no-reprot") == "--no-report");
	CHECK(closestOption("--hepl") == "--help");
}

TEST_CASE("VMs are named after their images, uniquely, in linear time")
{
	auto names = [](std::vector<std::string> images) {
		images.insert(images.begin(), "-g");
		auto cli = parse(images);
		REQUIRE(cli.options);
		std::vector<std::string> out;
		for (const auto &g : cli.options->guests)
			out.push_back(g.name);
		return out;
	};
	// Two guests are no longer Neo and Morpheus unless --name says so.
	CHECK(names({ "build/hello64.elf", "hc695.elf" }) == std::vector<std::string>{ "hello64", "hc695" });
	CHECK(names({ "a", "a-2", "a" }) == std::vector<std::string>{ "a", "a-2", "a-3" });
	CHECK(names({ "x/a.elf", "y/a.bin", "a-2", "a" }) == std::vector<std::string>{ "a", "a-2", "a-2-2", "a-3" });

	std::vector<std::string> many(4096, "guests/spin64.elf");
	std::vector<std::string> got = names(many);
	CHECK(got.front() == "spin64");
	CHECK(got[1] == "spin64-2");
	CHECK(got.back() == "spin64-4096");
	CHECK(std::set<std::string>(got.begin(), got.end()).size() == 4096);
}
