#include "app/PlotCommand.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <sys/stat.h>

#include "base/Error.h"
#include "trace/ChromeTrace.h"
#include "trace/Outputs.h"
#include "trace/Plot.h"

namespace quanta {

namespace {

// quanta's largest traces (a million exit events) are about 130 MB; a file
// far beyond that is not one of them, and reading it would only exhaust
// memory (`quanta plot /dev/zero` never ends).
constexpr std::size_t kMaxTraceBytes = 512u << 20;

// The whole file, or a UsageError with one line saying why not.
std::string readTrace(const std::string &path)
{
	std::FILE *file = std::fopen(path.c_str(), "rb");
	if (!file)
		throw UsageError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
	std::unique_ptr<std::FILE, int (*)(std::FILE *)> owner(file, std::fclose);
	struct stat st;
	if (::fstat(::fileno(file), &st) == 0) {
		if (S_ISDIR(st.st_mode))
			throw UsageError(fmt::format("{}: is a directory, not a trace file", path));
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			throw UsageError(fmt::format("{}: is a device, not a trace file", path));
	}
	std::string text;
	char buffer[1 << 16];
	std::size_t n;
	while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
		if (text.size() + n > kMaxTraceBytes)
			throw UsageError(fmt::format("{}: larger than {} MiB, not a trace written by quanta --trace", path,
						     kMaxTraceBytes >> 20));
		text.append(buffer, n);
	}
	if (std::ferror(file))
		throw UsageError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
	return text;
}

} // namespace

int plotCommand(const std::vector<std::string> &args)
{
	CLI::App app{ "quanta plot: draw a trace written by quanta --trace as a timeline and share plot (SVG or PNG)",
		      "quanta plot" };
	std::string input;
	std::string output;
	std::string style = "normal";
	app.add_option("trace", input, "a trace file written by quanta --trace (Chrome trace JSON)")->required();
	app.add_option("-o,--output", output,
		       "the plot to write, .svg or .png (default: the trace's name with .svg)");
	app.add_option("--plot-style", style, "normal, or big: fonts of at least 16 px for a projector")
		->check(CLI::IsMember({ "normal", "big" }));

	std::vector<std::string> reversed(args.rbegin(), args.rend() - 2);
	try {
		app.parse(reversed);
	} catch (const CLI::CallForHelp &) {
		std::fputs(app.help().c_str(), stdout);
		return kExitOk;
	} catch (const CLI::ParseError &e) {
		fmt::print(stderr, "quanta plot: {} (see quanta plot --help)\n", e.what());
		return kExitUsage;
	}
	if (output.empty())
		output = std::filesystem::path(input).replace_extension(".svg").string();

	try {
		trace::PlotFormat format = trace::plotFormatOf("-o", output);
		std::error_code error;
		if (std::filesystem::equivalent(input, output, error))
			throw UsageError(fmt::format("{} would be overwritten: give -o OUT.svg", input));
		trace::RunOutputs outputs;
		outputs.plot = output;
		trace::checkOutputs(outputs);
		trace::TraceData data = trace::readChromeTrace(readTrace(input));
		std::string file = trace::renderPlot(data, format, *trace::parsePlotStyle(style));
		return trace::writeOutput(output, file, "quanta plot") ? kExitOk : kExitHost;
	} catch (const UsageError &e) {
		std::string what = e.what();
		// Errors about the trace's content name the file they are in.
		if (what.find(input) == std::string::npos && what.find(output) == std::string::npos)
			what = fmt::format("{}: {}", input, what);
		fmt::print(stderr, "quanta plot: {}\n", what);
		return kExitUsage;
	} catch (const std::runtime_error &e) {
		fmt::print(stderr, "quanta plot: cannot write {}: {}\n", output, e.what());
		return kExitHost;
	}
}

} // namespace quanta
