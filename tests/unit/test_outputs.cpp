// Outputs are never lost: checked before the run (format from the
// extension, one file per output, a directory that exists), announced when
// written, and the PNG really is a PNG.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "base/Error.h"
#include "trace/Outputs.h"
#include "trace/Png.h"

using namespace quanta;
using namespace quanta::trace;

namespace {

namespace fs = std::filesystem;

// A fresh directory, removed at the end.
struct TempDir {
	fs::path path;
	TempDir()
	{
		char name[] = "/tmp/quanta-test-outputs-XXXXXX";
		path = ::mkdtemp(name);
	}
	~TempDir() { fs::remove_all(path); }
	std::string operator/(const std::string &name) const { return (path / name).string(); }
};

std::string refusal(const RunOutputs &outputs)
{
	try {
		checkOutputs(outputs);
	} catch (const UsageError &e) {
		return e.what();
	}
	return "";
}

// Runs f with stderr redirected to a file and returns what it printed.
template <typename F>
std::string stderrOf(F f)
{
	std::fflush(stderr);
	std::FILE *capture = std::tmpfile();
	int saved = ::dup(2);
	::dup2(::fileno(capture), 2);
	f();
	std::fflush(stderr);
	::dup2(saved, 2);
	::close(saved);
	std::rewind(capture);
	std::string text;
	char buffer[256];
	std::size_t n;
	while ((n = std::fread(buffer, 1, sizeof buffer, capture)) > 0)
		text.append(buffer, n);
	std::fclose(capture);
	return text;
}

} // namespace

TEST_CASE("two outputs on one file are refused, whatever the spelling")
{
	TempDir dir;
	RunOutputs outputs;
	outputs.traceJson = dir / "t.json";
	outputs.statsJson = dir / "t.json";
	CHECK(refusal(outputs) == "--stats-json and --trace both write " + (dir / "t.json") +
					  ": give each output its own file");
	outputs.statsJson = (dir.path / "." / ".." / dir.path.filename() / "t.json").string();
	CHECK(refusal(outputs).find("both write") != std::string::npos);
	outputs.statsJson = dir / "s.json";
	CHECK(refusal(outputs).empty());
	// The case: the collision is named, not the CSV's extension.
	RunOutputs both;
	both.traceJson = dir / "t.json";
	both.traceCsv = dir / "t.json";
	CHECK(refusal(both) == "--trace and --trace-csv both write " + (dir / "t.json") +
				       ": give each output its own file");
}

TEST_CASE("the format comes from the extension; a wrong one is refused")
{
	TempDir dir;
	RunOutputs outputs;
	outputs.traceJson = dir / "t.csv";
	CHECK(refusal(outputs) == "--trace " + (dir / "t.csv") +
					  ": the trace is Chrome trace JSON (--trace-csv writes CSV): name it with .json");
	outputs = {};
	outputs.traceCsv = dir / "t.json";
	CHECK(refusal(outputs).find("name it with .csv") != std::string::npos);
	outputs = {};
	outputs.statsJson = dir / "stats";
	CHECK(refusal(outputs).find("name it with .json") != std::string::npos);
	outputs = {};
	outputs.plot = dir / "p.pdf";
	CHECK(refusal(outputs) == "--plot " + (dir / "p.pdf") + ": a plot is written as .svg or .png, not .pdf");
	outputs.plot = dir / "p.SVG";
	CHECK(refusal(outputs).empty());
	CHECK(plotFormatOf("--plot", dir / "p.svg") == PlotFormat::Svg);
	if (pngSupported())
		CHECK(plotFormatOf("--plot", dir / "p.png") == PlotFormat::Png);
	else
		CHECK_THROWS_AS(plotFormatOf("--plot", dir / "p.png"), UsageError);
}

TEST_CASE("an output in a missing directory, or a directory, is refused before the run")
{
	TempDir dir;
	RunOutputs outputs;
	outputs.plot = dir / "missing/p.svg";
	CHECK(refusal(outputs).find("no such directory") != std::string::npos);
	fs::create_directory(dir / "d.svg");
	outputs.plot = dir / "d.svg";
	CHECK(refusal(outputs).find("is a directory") != std::string::npos);
	CHECK_FALSE(fs::exists(dir / "missing"));
}

TEST_CASE("each output written says so in one line")
{
	TempDir dir;
	TraceData data;
	data.policy = "stride";
	data.quantum = 10'000'000;
	data.vms = { { "solo", 1, 1.0 } };
	data.slices.push_back({ 0, 10'000'000, 9'000'000, 0, 1, sched::SliceEnd::Halt });
	data.wall = 10'000'000;
	RunOutputs outputs;
	outputs.traceJson = dir / "t.json";
	outputs.traceCsv = dir / "t.csv";
	outputs.plot = dir / (pngSupported() ? "p.png" : "p.svg");
	std::string said = stderrOf([&] { CHECK(writeTraceFiles(data, outputs)); });
	CHECK(said == "quanta: wrote " + outputs.traceJson + "\nquanta: wrote " + outputs.traceCsv +
			      "\nquanta: wrote " + outputs.plot + "\n");
	for (const std::string &path : { outputs.traceJson, outputs.traceCsv, outputs.plot })
		CHECK(fs::file_size(path) > 50);

	// A run's lines go where it says (its console's queue), none to stderr.
	std::string queued;
	said = stderrOf([&] {
		CHECK(writeTraceFiles(data, outputs, [&queued](std::string_view line) { queued += line; }));
	});
	CHECK(said.empty());
	CHECK(queued == "quanta: wrote " + outputs.traceJson + "\nquanta: wrote " + outputs.traceCsv +
				"\nquanta: wrote " + outputs.plot + "\n");

	said = stderrOf([&] { CHECK_FALSE(writeOutput(dir / "gone/x.json", "{}")); });
	CHECK(said.rfind("quanta: cannot write " + (dir / "gone/x.json") + ": ", 0) == 0);
	CHECK(std::count(said.begin(), said.end(), '\n') == 1);
}

TEST_CASE("a file is replaced whole: the old one stays until the new one is complete")
{
	TempDir dir;
	const std::string path = dir / "r.json";
	REQUIRE(writeFile(path, "old\n"));
	// The old file's inode stays open: an in-place write would change it.
	std::ifstream before(path);
	REQUIRE(writeFile(path, "new\n"));
	std::string oldText;
	std::getline(before, oldText);
	CHECK(oldText == "old");
	std::ifstream after(path);
	std::string newText;
	std::getline(after, newText);
	CHECK(newText == "new");
	// Nothing is left beside it.
	CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
	// A failed write leaves no part file either.
	CHECK_FALSE(writeFile(dir / "gone/x.json", "{}"));
	CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("--plot FILE.png writes a PNG, not SVG text")
{
	if (!pngSupported()) {
		CHECK_THROWS(svgToPng("<svg/>"));
		return;
	}
	std::string png = svgToPng("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 100 50\">"
				   "<rect width=\"100\" height=\"50\" fill=\"#f00\"/></svg>");
	REQUIRE(png.size() > 24);
	CHECK(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
	// IHDR: width and height, big-endian, at twice the viewBox.
	auto be32 = [&](std::size_t at) {
		return (std::uint32_t(std::uint8_t(png[at])) << 24) | (std::uint32_t(std::uint8_t(png[at + 1])) << 16) |
		       (std::uint32_t(std::uint8_t(png[at + 2])) << 8) | std::uint32_t(std::uint8_t(png[at + 3]));
	};
	CHECK(be32(16) == 200);
	CHECK(be32(20) == 100);
	CHECK_THROWS(svgToPng("not svg at all"));
}

TEST_CASE("--out-dir: relative outputs go there; quanta run gives each run a new folder")
{
	TempDir dir;
	RunOutputs outputs;
	outputs.traceJson = "t.json";
	outputs.plot = dir / "abs.svg"; // absolute: stays
	CHECK(placeOutputs(outputs, dir / "plain", false) == dir / "plain");
	CHECK(outputs.traceJson == dir / "plain/t.json");
	CHECK(outputs.plot == dir / "abs.svg");

	for (int run = 1; run <= 3; ++run) {
		RunOutputs again;
		again.statsJson = "s.json";
		again.traceCsv = "t.csv";
		std::string folder = placeOutputs(again, dir / "exp", true);
		CHECK(folder == dir / ("exp/run-" + std::to_string(run)));
		CHECK(again.statsJson == folder + "/s.json");
		CHECK(fs::is_directory(folder));
		checkOutputs(again);
	}
	RunOutputs none;
	CHECK(placeOutputs(none, dir / "unused", true).empty());
	CHECK_FALSE(fs::exists(dir / "unused"));

	std::ofstream(dir / "file") << "x";
	RunOutputs blocked;
	blocked.plot = "p.svg";
	CHECK_THROWS_AS(placeOutputs(blocked, dir / "file", true), UsageError);
}
