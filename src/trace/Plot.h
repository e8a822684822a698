// A picture of the schedule: a self-contained SVG (no scripts, no external
// fonts or files) that a browser shows and rsvg-convert renders.
//
// Three panels over one recorded run: a timeline with one lane per VM
// (when each VM ran, waited to run or was parked, the whole run), a
// close-up of the first slices (one bar per slice with its quantum marked,
// to see e.g. frac's 7 Neo / 3 Morpheus pattern and slices that overran),
// and each VM's cumulative share of guest time against a dashed line at
// its target. The SVG has a viewBox and no fixed size, so it scales to the
// window it is shown in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "trace/Trace.h"

namespace quanta::trace {

enum class PlotStyle {
	Normal, // for a screen or a paper
	Big,    // for a projector: every font at least 16 px, fewer ticks
};

std::optional<PlotStyle> parsePlotStyle(std::string_view name);
std::string_view plotStyleName(PlotStyle style);

// A slice that held the CPU this much longer than its quantum is drawn as
// an overrun (the kick signal always lands a little late).
inline constexpr double kOverrunFraction = 0.10;

// Pure: the same data always gives the same text.
std::string plotSvg(const TraceData &data, PlotStyle style = PlotStyle::Normal);

} // namespace quanta::trace
