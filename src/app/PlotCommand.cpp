#include "app/PlotCommand.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "base/Error.h"
#include "trace/ChromeTrace.h"
#include "trace/Outputs.h"
#include "trace/Plot.h"

namespace quanta {

int plotCommand(const std::vector<std::string> &args)
{
	CLI::App app{ "quanta plot: draw a trace written by quanta --trace as an SVG timeline and share plot",
		      "quanta plot" };
	std::string input;
	std::string output;
	app.add_option("trace", input, "a trace file written by quanta --trace (Chrome trace JSON)")->required();
	app.add_option("-o,--output", output, "the SVG to write (default: the trace's name with .svg)");

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
	if (output == input) {
		fmt::print(stderr, "quanta plot: {} would be overwritten: give -o OUT.svg\n", input);
		return kExitUsage;
	}

	std::ifstream in(input, std::ios::binary);
	if (!in) {
		fmt::print(stderr, "quanta plot: cannot read {}: {}\n", input, std::strerror(errno));
		return kExitUsage;
	}
	std::ostringstream text;
	text << in.rdbuf();
	try {
		std::string svg = trace::plotSvg(trace::readChromeTrace(text.str()));
		if (!trace::writeFile(output, svg)) {
			fmt::print(stderr, "quanta plot: cannot write {}: {}\n", output, std::strerror(errno));
			return kExitHost;
		}
	} catch (const UsageError &e) {
		fmt::print(stderr, "quanta plot: {}: {}\n", input, e.what());
		return kExitUsage;
	}
	return kExitOk;
}

} // namespace quanta
