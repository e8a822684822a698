// The files a run writes when it ends: --stats-json (the report), --trace
// (Chrome JSON), --trace-csv and --plot (SVG or PNG), the trace ones all
// from the one recording. Checked before the run (a long run must not end
// by losing its results) and announced one line each when written.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/Plot.h"
#include "trace/Trace.h"

namespace quanta::trace {

struct RunOutputs {
	std::string statsJson; // --stats-json
	std::string traceJson; // --trace
	std::string traceCsv;  // --trace-csv
	std::string plot;      // --plot: .svg or .png
	PlotStyle plotStyle = PlotStyle::Normal;

	bool anyTrace() const { return !traceJson.empty() || !traceCsv.empty() || !plot.empty(); }
};

enum class PlotFormat {
	Svg,
	Png
};

// The plot format a file name asks for; throws UsageError (naming `option`)
// for any other extension, or for .png when this build has no librsvg.
PlotFormat plotFormatOf(std::string_view option, const std::string &path);

// Before the run: every requested file has the extension of its format
// (.json, .csv, .svg/.png), no two outputs share a file, none is a
// directory, and each one's directory exists and is writable (unless
// checkDirectories is false: before placeOutputs has made them). Throws
// UsageError with one line naming the options.
void checkOutputs(const RunOutputs &outputs, bool checkDirectories = true);

// Puts every relative output name under dir, made if missing; with
// runFolders, under the first free dir/run-N (N = 1, 2, ...), made here,
// so a run never overwrites an earlier one. Returns the folder the
// outputs went to ("" when there are none or dir is empty: nothing is
// made then). Throws UsageError naming --out-dir when it cannot.
std::string placeOutputs(RunOutputs &outputs, const std::string &dir, bool runFolders);

// Writes text to path; false (and errno set) when it could not.
bool writeFile(const std::string &path, const std::string &text);

// Where the lines about outputs go (each ends in a newline): a run passes
// its console's diagnostics, which never block on a full stderr; empty
// means stderr directly.
using Say = std::function<void(std::string_view line)>;

// Writes one output and says so: "quanta: wrote PATH", or
// "quanta: cannot write PATH: reason". `prefix` is "quanta" or "quanta plot".
bool writeOutput(const std::string &path, const std::string &text, std::string_view prefix = "quanta",
		 const Say &say = {});

// The plot as a file of its format (SVG text or PNG bytes). Throws
// std::runtime_error when PNG rendering fails.
std::string renderPlot(const TraceData &data, PlotFormat format, PlotStyle style);

// Writes every requested trace file; a file that cannot be written gets
// one line and the others are still written. False if any failed.
bool writeTraceFiles(const TraceData &data, const RunOutputs &outputs, const Say &say = {});

} // namespace quanta::trace
