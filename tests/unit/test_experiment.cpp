// Experiment files: `quanta run FILE.toml` must give exactly the run the
// equivalent command line gives; flags after the file override its keys.
#include <doctest/doctest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <map>
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
	for (const GuestConfig &g : o.guests) {
		for (const std::string &arg : g.hvt.args)
			text += fmt::format("hvt {} arg {}\n", g.name, arg);
		for (const auto &[name, path] : g.hvt.devices.blockPaths)
			text += fmt::format("hvt {} block {}={}\n", g.name, name, path);
		for (const auto &[name, size] : g.hvt.devices.sectorSizes)
			text += fmt::format("hvt {} sector {}={}\n", g.name, name, size);
		for (const auto &[name, target] : g.hvt.devices.netTargets)
			text += fmt::format("hvt {} net {}={}\n", g.name, name, target);
		for (const auto &[name, mac] : g.hvt.devices.netMacs)
			text += fmt::format("hvt {} mac {}={}\n", g.name, name, mac[5]);
	}
	for (const std::string &f : o.sharedFiles)
		text += "file " + f + "\n";
	for (const ChannelSpec &c : o.channels)
		text += fmt::format("channel {} {}->{} slots={} size={}\n", c.name, c.producer, c.consumer, c.slots, c.maxSize);
	for (std::uint64_t s : o.shares)
		text += fmt::format("share {}\n", s);
	text += fmt::format("quota={},{}\n", o.fileQuotaFiles, o.fileQuotaBytes);
	text += fmt::format("filesDir={} maxSize={} unknown={} prefix={} policy={} quantum={} duration={} stdin={} "
			    "seed={} cpu={} realtime={} report={} exits={} stats={} trace={} csv={} level={} plot={} explain={} status={}\n",
			    o.filesDir, o.fileMaxSize, static_cast<int>(o.unknownPorts), o.prefixOutput,
			    sched::policyName(o.policy), o.quantum, o.duration ? *o.duration : -1, o.stdinVm,
			    o.seed ? static_cast<long long>(*o.seed) : -1, o.cpu ? *o.cpu : -1, o.realtime, static_cast<int>(o.report),
			    o.reportExits, o.statsJsonPath,
			    o.tracePath, o.traceCsvPath, trace::levelName(o.traceLevel), o.plotPath, o.explain, o.status);
	// outDir and runFolders are left out: a file sets them for every run
	// (a folder named after it), the flag only when given; checked apart.
	text += fmt::format("plotStyle={} echo={}", trace::plotStyleName(o.plotStyle), fmt::join(o.echoPorts, ","));
	for (std::size_t i = 0; i < kAssignmentCallCount; ++i)
		text += fmt::format(" {}={}", assignmentCallName(static_cast<AssignmentCall>(i)),
				    o.hypercallPorts.of(static_cast<AssignmentCall>(i)));
	text += "\n";
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
	CHECK(cli.options->guests[0].name == "hello16"); // named after the images
	CHECK(cli.options->guests[1].name == "count64");
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
	std::string message = fails("policy = \"frac\"\nqauntum = \"10ms\"\n[[vm]]\nimage = \"a\"\n",
				    "unknown key 'qauntum'; did you mean 'quantum'?");
	CHECK(message.find("bad.toml:2:") != std::string::npos);
	fails("[[vm]]\nimage = \"a\"\nshares = 70\n", "unknown key 'vm.shares'");
	fails("[[vm]]\nname = \"a\"\n", "[[vm]] without an image");
	fails("policy = \"frac\"\n", "no [[vm]]");
	fails("page = true\n[[vm]]\nimage = \"a\"\n", "bad.toml:1: page must be 2 or 4, not true/false (true)");
	fails("[[vm]]\nimage = \"a\"\nshare = 70\n[[vm]]\nimage = \"b\"\n", "give every [[vm]] a share or none");
	fails("[[vm]]\nimage = \"a\"\nmode = \"real\"\n[[vm]]\nimage = \"b\"\n", "without a mode");
	fails("[[vm]\nimage = \"a\"\n", "bad.toml:1:");
	fails("[[vm]]\nimage = \"a\"\n[[channel]]\nfrom = \"Neo\"\n", "needs from and to");
	fails("[[vm]]\nimage = \"a\"\n[[vm]]\nimage = \"b\"\n[[channel]]\nfrom = \"a\"\nto = \"Trinity\"\n",
	      "no VM named 'Trinity'");

	// A value's mistake names the file and line, not the --option.
	CHECK(fails("policy = \"rr\"\nquantum = \"0ms\"\n[[vm]]\nimage = \"a\"\n", "quantum") ==
	      fmt::format("quanta: {}:2: quantum: '0ms' must be positive\n", (scratch.dir / "experiments/bad.toml").string()));
	fails("memory = 4.5\n[[vm]]\nimage = \"a\"\n",
	      "bad.toml:1: memory must be a size such as \"64M\" or a whole number of MiB, not a number with a fraction "
	      "(4.5)");
	fails("memory = \"64M\"\nmode = \"long\"\n[[vm]]\nimage = \"a\"\n",
	      "bad.toml:1: memory: 64 MiB: long mode with 4 KiB pages maps at most 18 MiB");
	fails("seed = -1\n[[vm]]\nimage = \"a\"\n", "bad.toml:1: seed must be a whole number, not a number (-1)");
	fails("files = [1, 2]\n[[vm]]\nimage = \"a\"\n", "bad.toml:1: files must be a list of file names, not");
	fails("[[vm]]\nimage = \"a\"\nshare = 0\n", "bad.toml:3: vm.share: '0' is not a positive whole number");
	fails("[[vm]]\nimage = \"a\"\nmode = \"unreal\"\n", "bad.toml:3: vm.mode: 'unreal' is not a CPU mode");
	fails("[[vm]]\nimage = 5\n", "bad.toml:2: vm.image must be a file name, not a number (5)");

	CommandLine missing = runFile((scratch.dir / "nope.toml").string());
	CHECK(missing.exitCode == 2);
	CHECK_FALSE(missing.options);
	CHECK(missing.message == fmt::format("quanta: {}: no such file\n", (scratch.dir / "nope.toml").string()));
	CommandLine directory = runFile(scratch.dir.string());
	CHECK(directory.exitCode == 2);
	CHECK(directory.message == fmt::format("quanta: {}: is a directory, not an experiment file\n", scratch.dir.string()));
	CommandLine device = runFile("/dev/zero");
	CHECK(device.exitCode == 2);
	CHECK(device.message == "quanta: /dev/zero: not a regular file\n");
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

// Each option is defined once (optionTable); this keeps --help, the README's
// option table and the experiment reader from drifting apart.
TEST_CASE("every option in --help is in the README table and in experiment files")
{
	std::string help = commandLine({ "--help" }).message;
	std::ifstream readmeFile(std::string(QUANTA_SOURCE_ROOT) + "/README.md");
	std::string readmeRows;
	for (std::string line; std::getline(readmeFile, line);)
		if (line.rfind("| `-", 0) == 0)
			readmeRows += line + "\n";
	REQUIRE_FALSE(readmeRows.empty());

	// A value for each option that is not its default, as a flag and as a
	// file key. An option missing here fails the test: add one.
	struct Sample {
		std::vector<std::string> flags;
		std::string toml;
	};
	Scratch scratch;
	std::string image = (scratch.dir / "experiments/a.img").string();
	std::string imageB = (scratch.dir / "experiments/b.img").string();
	const std::map<std::string, Sample> samples = {
		{ "--memory", { { "-m", "64M" }, "memory = \"64M\"" } },
		{ "--page", { { "-p", "2" }, "page = 2" } },
		{ "--file", { { "-f", (scratch.dir / "experiments/x.txt").string() }, "files = [\"x.txt\"]" } },
		{ "--files-dir", { { "--files-dir", "out" }, "files_dir = \"out\"" } },
		{ "--file-max-size", { { "--file-max-size", "1M" }, "file_max_size = \"1M\"" } },
		{ "--file-quota", { { "--file-quota", "10,1M" }, "file_quota = \"10,1M\"" } },
		{ "--mode", { { "--mode", "real" }, "mode = \"real\"" } },
		{ "--load", { { "--load", "0x7c00" }, "load = \"0x7c00\"" } },
		{ "--entry", { { "--entry", "16" }, "entry = 16" } },
		{ "--cs-base", { { "--cs-base", "0x1000" }, "cs_base = \"0x1000\"" } },
		{ "--unknown-ports", { { "--unknown-ports", "ignore" }, "unknown_ports = \"ignore\"" } },
		{ "--no-prefix", { { "--no-prefix" }, "prefix = false" } },
		{ "--policy", { { "--policy", "rr" }, "policy = \"rr\"" } },
		{ "--quantum", { { "--quantum", "2ms" }, "quantum = \"2ms\"" } },
		{ "--duration", { { "--duration", "1s" }, "duration = \"1s\"" } },
		{ "--stdin", { { "--stdin", "b" }, "stdin = \"b\"" } },
		{ "--seed", { { "--seed", "7" }, "seed = 7" } },
		{ "--cpu", { { "--cpu", "1" }, "cpu = 1" } },
		{ "--realtime", { { "--realtime" }, "realtime = true" } },
		{ "--stats-json", { { "--stats-json", "s.json" }, "stats_json = \"s.json\"" } },
		{ "--report", { { "--report" }, "report = true" } },
		{ "--no-report", { { "--no-report" }, "report = false" } },
		{ "--report-exits", { { "--report-exits" }, "report_exits = true" } },
		{ "--trace", { { "--trace", "t.json" }, "trace = \"t.json\"" } },
		{ "--trace-csv", { { "--trace-csv", "t.csv" }, "trace_csv = \"t.csv\"" } },
		{ "--trace-level", { { "--trace-level", "exits" }, "trace_level = \"exits\"" } },
		{ "--plot", { { "--plot", "p.svg" }, "plot = \"p.svg\"" } },
		{ "--plot-style", { { "--plot-style", "big" }, "plot_style = \"big\"" } },
		{ "--out-dir", { { "--out-dir", "o" }, "out_dir = \"o\"" } },
		{ "--hypercall-ports",
		  { { "--hypercall-ports", "printStr=0x80,gvaToHva=0x81,gvaToHva.in=0x81" },
		    "hypercall_ports = { printStr = 0x80, gvaToHva = 129, \"gvaToHva.in\" = \"0x81\" }" } },
		{ "--echo-ports", { { "--echo-ports", "0x10,17" }, "echo_ports = [0x10, 17]" } },
		{ "--explain", { { "--explain" }, "explain = true" } },
		{ "--no-status", { { "--no-status" }, "status = false" } },
		{ "--cmdline", { { "--cmdline", "a=Hello Solo5" }, "cmdline = [\"a=Hello Solo5\"]" } },
		{ "--block", { { "--block", "a:storage=disk.img" }, "block = [\"a:storage=disk.img\"]" } },
		{ "--block-sector-size", { { "--block-sector-size", "a:storage=4096" }, "block_sector_size = [\"a:storage=4096\"]" } },
		{ "--net", { { "--net", "b:service0=tap100" }, "net = [\"b:service0=tap100\"]" } },
		{ "--net-mac", { { "--net-mac", "b:service0=02:00:00:00:00:07" }, "net_mac = [\"b:service0=02:00:00:00:00:07\"]" } },
	};
	const std::string defaults = describe(*commandLine({ "-g", image, imageB }).options);

	std::size_t seen = 0;
	for (std::size_t at = help.find("\n  -"); at != std::string::npos; at = help.find("\n  -", at + 1)) {
		std::size_t dashes = help.find("--", at);
		std::string name = help.substr(dashes, help.find_first_of(" \n", dashes) - dashes);
		if (name == "--help" || name == "--version")
			continue;
		CAPTURE(name);
		++seen;
		const OptionDef &def = findOption(name);
		// The row names the option as `--name ...` or `-x, --name ...`.
		std::size_t row = std::string::npos;
		for (const char *before : { "`", ", " })
			for (const char *after : { " ", "`", "," })
				row = std::min(row, readmeRows.find(before + name + after));
		if (row != std::string::npos)
			row = readmeRows.rfind('\n', row) + 1;
		CHECK_MESSAGE(row != std::string::npos, "no row for the option in README.md's option table");
		if (row == std::string::npos)
			continue;
		std::string readmeRow = readmeRows.substr(row, readmeRows.find('\n', row) - row);
		if (!def.key) {
			CHECK(readmeRow.find("command line only") != std::string::npos);
			continue;
		}
		std::string key = def.key;
		std::string shownKey = key.rfind("vm.", 0) == 0 ? "[[vm]] " + key.substr(3)
				       : key == "channel"       ? "[[channel]]"
								: key;
		CHECK_MESSAGE(readmeRow.find("`" + shownKey) != std::string::npos, "README row lacks the file key");
		if (key.rfind("vm.", 0) == 0) {
			const auto &tableKeys = experimentTableKeys();
			CHECK(std::find(tableKeys.begin(), tableKeys.end(), key) != tableKeys.end());
			continue; // [[vm]] keys: the Matrix test above compares them with their flags
		}
		if (key == "channel")
			continue; // [[channel]]: likewise
		auto sample = samples.find(name);
		REQUIRE_MESSAGE(sample != samples.end(), "give this option a sample value in this test");
		if (name == "--out-dir") {
			auto fromFlags = commandLine({ "--out-dir", "o", "-g", image, imageB });
			auto fromFile = runFile(
				scratch.write("one.toml", sample->second.toml + "\n[[vm]]\nimage = \"a.img\"\n"));
			REQUIRE(fromFlags.options);
			REQUIRE(fromFile.options);
			CHECK(fromFlags.options->outDir == "o");
			CHECK_FALSE(fromFlags.options->runFolders);
			CHECK(fromFile.options->outDir == "o");
			CHECK(fromFile.options->runFolders);
			continue;
		}
		std::vector<std::string> flags = sample->second.flags;
		flags.insert(flags.end(), { "-g", image, imageB });
		CommandLine fromFlags = commandLine(flags);
		CommandLine fromFile = runFile(
			scratch.write("one.toml", sample->second.toml + "\n[[vm]]\nimage = \"a.img\"\n[[vm]]\nimage = \"b.img\"\n"));
		INFO(fromFlags.message, fromFile.message);
		REQUIRE(fromFlags.options);
		REQUIRE(fromFile.options);
		CHECK(describe(*fromFile.options) == describe(*fromFlags.options));
		CHECK(describe(*fromFile.options) != defaults);
	}
	CHECK(seen == optionTable().size());
}
