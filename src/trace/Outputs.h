// The files a traced run writes when it ends: --trace (Chrome JSON),
// --trace-csv and --plot (SVG), all from the one recording.
#pragma once

#include <string>

#include "trace/Trace.h"

namespace quanta::trace {

struct TraceOutputs {
	std::string json; // --trace
	std::string csv;  // --trace-csv
	std::string svg;  // --plot
	bool any() const { return !json.empty() || !csv.empty() || !svg.empty(); }
};

// Writes text to path; false (and errno set) when it could not.
bool writeFile(const std::string &path, const std::string &text);

// Writes every requested file. A file that cannot be written gets one line
// on stderr and the others are still written; false if any failed.
bool writeTraceFiles(const TraceData &data, const TraceOutputs &outputs);

} // namespace quanta::trace
