// Experiment files: `quanta run FILE.toml` must give exactly the run the
// equivalent command line gives; flags after the file override its keys.
#include <doctest/doctest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "app/Experiment.h"
#include "app/Options.h"

using namespace quanta;
namespace fs = std::filesystem;

namespace {

// A scratch directory with an experiment file in a subdirectory, so
// relative image paths are visibly resolved against the file.
struct Scratch {
	fs::path dir;
	Scratch()
	{
		dir = fs::temp_directory_path() / fmt::format("quanta-experiment-{}", ::getpid());
		fs::create_directories(dir / "experiments");
	}
	~Scratch() { fs::remove_all(dir); }
	std::string write(const std::string &name, const std::string &text) const
	{
		fs::path path = dir / "experiments" / name;
		std::ofstream(path) << text;
		return path.string();
	}
};

CommandLine runFile(const std::string &path, std::vector<std::string> overrides = {})
{
	std::vector<std::string> args{ "quanta", "run", path };
	args.insert(args.end(), overrides.begin(), overrides.end());
	return parseExperiment(args);
}

CommandLine commandLine(std::vector<std::string> args)
{
	args.insert(args.begin(), "quanta");
	return parseCommandLine(args);
}

// Every field of Options, in one comparable text.
std::string describe(const Options &o)
{
	std::string text;
	for (const GuestConfig &g : o.guests)
		text += fmt::format("guest {} {} mem={} page={} mode={} load={} entry={} cs={}\n", g.name, g.imagePath,
				    g.memoryBytes, static_cast<int>(g.pageSize), g.mode ? static_cast<int>(*g.mode) : -1,
				    g.flatLoad, g.flatEntry ? static_cast<long long>(*g.flatEntry) : -1,
				    g.csBase ? static_cast<long long>(*g.csBase) : -1);
	for (const std::string &f : o.sharedFiles)
		text += "file " + f + "\n";
	for (const ChannelSpec &c : o.channels)
		text += fmt::format("channel {} {}->{} slots={} size={}\n", c.name, c.producer, c.consumer, c.slots, c.maxSize);
	for (std::uint64_t s : o.shares)
		text += fmt::format("share {}\n", s);
	text += fmt::format("filesDir={} maxSize={} unknown={} prefix={} policy={} quantum={} duration={} stdin={} "
			    "seed={} report={} stats={} trace={} csv={} level={} plot={} explain={} status={}\n",
			    o.filesDir, o.fileMaxSize, static_cast<int>(o.unknownPorts), o.prefixOutput,
			    sched::policyName(o.policy), o.quantum, o.duration ? *o.duration : -1, o.stdinVm,
			    o.seed ? static_cast<long long>(*o.seed) : -1, static_cast<int>(o.report), o.statsJsonPath,
			    o.tracePath, o.traceCsvPath, trace::levelName(o.traceLevel), o.plotPath, o.explain, o.status);
	return text;
}

constexpr const char *kMatrix = R"(
description = "Neo and Morpheus share one CPU 70/30"
policy = "frac"
quantum = "5ms"
duration = "3s"
memory = 4
page = 2
mode = "real"
seed = 42
unknown_ports = "ignore"
files = ["data/a.txt", "/abs/b.txt"]
files_dir = "out"
file_max_size = "1M"
stdin = "Morpheus"
report = true
prefix = false
status = false
stats_json = "stats.json"
trace = "run.json"
trace_csv = "run.csv"
trace_level = "exits"
plot = "run.svg"

[[vm]]
name = "Neo"
image = "../build/guests/neo16.bin"
share = 70

[[vm]]
name = "Morpheus"
image = "../build/guests/morpheus16.bin"
share = 30

[[channel]]
from = "Neo"
to = "Morpheus"
slots = 4
size = 128
name = "pipe"
)";

} // namespace

TEST_CASE("an experiment file and the equivalent command line give the same Options")
{
	Scratch scratch;
	std::string path = scratch.write("matrix.toml", kMatrix);
	std::string root = (scratch.dir / "experiments").string();
	CommandLine fromFile = runFile(path);
	INFO(fromFile.message);
	REQUIRE(fromFile.options);

	CommandLine fromFlags = commandLine({
		"--policy",
		"frac",
		"--quantum",
		"5ms",
		"--duration",
		"3s",
		"-m",
		"4",
		"-p",
		"2",
		"--mode",
		"real",
		"--seed",
		"42",
		"--unknown-ports",
		"ignore",
		"-f",
		root + "/data/a.txt",
		"/abs/b.txt",
		"--files-dir",
		"out",
		"--file-max-size",
		"1M",
		"--stdin",
		"Morpheus",
		"--report",
		"--no-prefix",
		"--no-status",
		"--stats-json",
		"stats.json",
		"--trace",
		"run.json",
		"--trace-csv",
		"run.csv",
		"--trace-level",
		"exits",
		"--plot",
		"run.svg",
		"-g",
		(scratch.dir / "build/guests/neo16.bin").string(),
		(scratch.dir / "build/guests/morpheus16.bin").string(),
		"--name",
		"Neo,Morpheus",
		"--share",
		"70,30",
		"--channel",
		"Neo:Morpheus,slots=4,size=128,name=pipe",
	});
	INFO(fromFlags.message);
	REQUIRE(fromFlags.options);
	CHECK(describe(*fromFile.options) == describe(*fromFlags.options));
	// And the file said something: not two sets of defaults.
	CHECK(fromFile.options->guests[0].imagePath == (scratch.dir / "build/guests/neo16.bin").string());
	CHECK(fromFile.options->shares == std::vector<std::uint64_t>{ 70, 30 });
	CHECK(fromFile.options->quantum == 5'000'000);
	CHECK(fromFile.options->channels.size() == 1);
}

TEST_CASE("flags after the file override its keys")
{
	Scratch scratch;
	std::string path = scratch.write("matrix.toml", kMatrix);
	CommandLine cli = runFile(path, { "--duration", "1s", "--policy=stride", "-m2", "--no-report" });
	INFO(cli.message);
	REQUIRE(cli.options);
	CHECK(*cli.options->duration == 1'000'000'000);
	CHECK(cli.options->policy == sched::Policy::Stride);
	CHECK(cli.options->guests[0].memoryBytes == 2u << 20);
	CHECK(cli.options->report == Options::ReportMode::Never);
	CHECK(cli.options->quantum == 5'000'000); // not overridden

	// Other guests replace the file's guests with their names, shares and channels.
	cli = runFile(path, { "-g", "x.bin", "y.bin", "z.bin", "--stdin", "x" });
	INFO(cli.message);
	REQUIRE(cli.options);
	REQUIRE(cli.options->guests.size() == 3);
	CHECK(cli.options->guests[0].name == "x");
	CHECK(cli.options->shares == std::vector<std::uint64_t>{ 1, 1, 1 });
	CHECK(cli.options->channels.empty());

	// New shares for the file's guests.
	cli = runFile(path, { "--share", "50,50" });
	REQUIRE(cli.options);
	CHECK(cli.options->shares == std::vector<std::uint64_t>{ 50, 50 });
}

TEST_CASE("per-VM modes, defaults, and images next to the file")
{
	Scratch scratch;
	std::string path = scratch.write("mixed.toml", R"(
[[vm]]
image = "hello16.bin"
mode = "real"
[[vm]]
image = "sub/count64.elf"
mode = "long"
)");
	CommandLine cli = runFile(path);
	INFO(cli.message);
	REQUIRE(cli.options);
	REQUIRE(cli.options->guests.size() == 2);
	CHECK(cli.options->guests[0].mode == CpuMode::Real);
	CHECK(cli.options->guests[1].mode == CpuMode::Long);
	CHECK(cli.options->guests[1].imagePath == (scratch.dir / "experiments/sub/count64.elf").string());
	CHECK(cli.options->guests[0].name == "Neo"); // two guests: the classic names
	CHECK(cli.options->policy == sched::Policy::Stride);

	CHECK(describe(*cli.options) ==
	      describe(*commandLine({ "--mode", "real,long", "-g", (scratch.dir / "experiments/hello16.bin").string(),
				      (scratch.dir / "experiments/sub/count64.elf").string() })
				.options));

	// One mode per guest, or one for all; anything else is a usage error.
	CommandLine bad = commandLine({ "--mode", "real,long", "-g", "a" });
	CHECK(bad.exitCode == 2);
	CHECK(bad.message.find("--mode: 2 modes for 1 guest") != std::string::npos);
	bad = commandLine({ "--mode", "real,unreal", "-g", "a", "b" });
	CHECK(bad.message.find("'unreal' is not a CPU mode") != std::string::npos);
}

TEST_CASE("mistakes in an experiment file: one line, exit 2, with the line number")
{
	Scratch scratch;
	auto fails = [&](const std::string &text, const std::string &expect) {
		CommandLine cli = runFile(scratch.write("bad.toml", text));
		CAPTURE(text);
		CHECK_FALSE(cli.options);
		CHECK(cli.exitCode == 2);
		CHECK(cli.messageIsError);
		CHECK(cli.message.find(expect) != std::string::npos);
		CHECK(cli.message.find('\n') == cli.message.size() - 1);
		return cli.message;
	};
	std::string message = fails("policy = \"frac\"\nqauntum = \"10ms\"\n[[vm]]\nimage = \"a\"\n", "unknown key 'qauntum'");
	CHECK(message.find("bad.toml:2:") != std::string::npos);
	fails("[[vm]]\nimage = \"a\"\nshares = 70\n", "unknown key 'vm.shares'");
	fails("[[vm]]\nname = \"a\"\n", "[[vm]] without an image");
	fails("policy = \"frac\"\n", "no [[vm]]");
	fails("memory = \"4\"\n[[vm]]\nimage = \"a\"\n", "'memory' must be a whole number");
	fails("[[vm]]\nimage = \"a\"\nshare = 70\n[[vm]]\nimage = \"b\"\n", "give every [[vm]] a share or none");
	fails("[[vm]]\nimage = \"a\"\nmode = \"real\"\n[[vm]]\nimage = \"b\"\n", "without a mode");
	fails("[[vm]\nimage = \"a\"\n", "bad.toml:1:");
	fails("[[vm]]\nimage = \"a\"\n[[channel]]\nfrom = \"Neo\"\n", "needs from and to");
	fails("[[vm]]\nimage = \"a\"\n[[vm]]\nimage = \"b\"\n[[channel]]\nfrom = \"Neo\"\nto = \"Trinity\"\n",
	      "no VM named 'Trinity'");

	CommandLine missing = runFile((scratch.dir / "nope.toml").string());
	CHECK(missing.exitCode == 2);
	CHECK_FALSE(missing.options);
	CommandLine none = parseExperiment({ "quanta", "run" });
	CHECK(none.exitCode == 2);
	CommandLine help = parseExperiment({ "quanta", "run", "--help" });
	CHECK(help.exitCode == 0);
	CHECK(help.message.find("usage: quanta run EXPERIMENT.toml") == 0);
}

TEST_CASE("the shipped experiments parse")
{
	for (const char *name : { "matrix-70-30.toml", "frac-demo.toml", "producer-consumer.toml" }) {
		CAPTURE(name);
		CommandLine cli = runFile(std::string(QUANTA_SOURCE_ROOT) + "/experiments/" + name);
		INFO(cli.message);
		REQUIRE(cli.options);
		CHECK(cli.options->guests.size() == 2);
		CHECK(cli.options->duration);
	}
}
