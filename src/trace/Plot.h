// A picture of the schedule: a self-contained SVG (no scripts, no external
// fonts or files) that a browser shows and rsvg-convert renders.
//
// Three panels over one recorded run: a timeline with one lane per VM
// (which VM ran when, the whole run), a close-up of the first slices (one
// bar per slice, to see e.g. frac's 7 Neo / 3 Morpheus pattern), and each
// VM's cumulative share of guest time against a dashed line at its target.
#pragma once

#include <string>

#include "trace/Trace.h"

namespace quanta::trace {

// Pure: the same data always gives the same text.
std::string plotSvg(const TraceData &data);

} // namespace quanta::trace
