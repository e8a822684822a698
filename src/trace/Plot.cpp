#include "trace/Plot.h"

#include "base/Text.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <iterator>

namespace quanta::trace {

namespace {

constexpr double kWidth = 960;
constexpr double kLeft = 120; // room for lane labels and the share axis
constexpr double kRight = 40;
constexpr double kPlotWidth = kWidth - kLeft - kRight;
constexpr double kLaneHeight = 22;
constexpr double kLaneGap = 6;
constexpr double kShareHeight = 260;
// The close-up shows this many quanta: two cycles of frac at 70,30.
constexpr Nanos kCloseUpQuanta = 30;

// Tableau 10: distinguishable, and still readable in grey scale.
constexpr const char *kPalette[] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
				     "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };

const char *colourOf(std::size_t vm)
{
	return kPalette[vm % std::size(kPalette)];
}

// A time unit that keeps tick labels short for a span of this length.
struct TimeUnit {
	double ns;
	const char *name;
};

TimeUnit unitFor(Nanos span)
{
	if (span >= 2'000'000'000)
		return { 1e9, "s" };
	if (span >= 2'000'000)
		return { 1e6, "ms" };
	return { 1e3, "us" };
}

// 1, 2 or 5 times a power of ten, giving about `ticks` intervals.
double niceStep(double span, int ticks)
{
	if (span <= 0)
		return 1;
	double raw = span / ticks;
	double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
	double r = raw / magnitude;
	double step = r < 1.5 ? 1 : r < 3 ? 2
			    : r < 7       ? 5
					  : 10;
	return step * magnitude;
}

// A share in percent for labels: 70%, 33.3%, 2.8%.
std::string percent(double share)
{
	double pct = share * 100;
	if (std::abs(pct - std::round(pct)) < 0.05)
		return fmt::format("{:.0f}%", pct);
	return fmt::format("{:.1f}%", pct);
}

std::string number(double value)
{
	// Rounds away float noise (0.30000000000000004) before printing.
	return fmt::format("{:g}", std::round(value * 1e6) / 1e6);
}

class Canvas {
public:
	void rect(double x, double y, double w, double h, std::string_view fill, std::string_view extra = {})
	{
		fmt::format_to(std::back_inserter(out_),
			       "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\"{}{}/>\n", x,
			       y, w, h, fill, extra.empty() ? "" : " ", extra);
	}
	void line(double x1, double y1, double x2, double y2, std::string_view stroke, double width = 1,
		  std::string_view extra = {})
	{
		fmt::format_to(std::back_inserter(out_),
			       "<line x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"{}\" "
			       "stroke-width=\"{}\"{}{}/>\n",
			       x1, y1, x2, y2, stroke, width, extra.empty() ? "" : " ", extra);
	}
	// text is escaped here; anchor: start, middle or end.
	void text(double x, double y, std::string_view text, std::string_view anchor = "start", double size = 12,
		  std::string_view extra = {})
	{
		fmt::format_to(std::back_inserter(out_),
			       "<text x=\"{:.2f}\" y=\"{:.2f}\" font-size=\"{}\" text-anchor=\"{}\"{}{}>{}</text>\n", x,
			       y, size, anchor, extra.empty() ? "" : " ", extra, escapeXml(text));
	}
	void raw(std::string_view text) { out_ += text; }
	std::string &out() { return out_; }

private:
	std::string out_;
};

// Maps a time range onto the plot's x range.
struct TimeScale {
	Nanos from;
	Nanos to;
	double x(Nanos t) const
	{
		double span = static_cast<double>(std::max<Nanos>(to - from, 1));
		return kLeft + kPlotWidth * static_cast<double>(t - from) / span;
	}
};

// Ticks, grid lines from top to bottom, and the axis label under them.
// Labels count from the run's start (scale.from), which is time 0.
void timeAxis(Canvas &svg, const TimeScale &scale, double top, double bottom, std::string_view what)
{
	TimeUnit unit = unitFor(scale.to - scale.from);
	double to = static_cast<double>(scale.to - scale.from) / unit.ns;
	double step = niceStep(to, 8);
	svg.line(kLeft, bottom, kLeft + kPlotWidth, bottom, "#333");
	for (double v = 0; v <= to + step * 1e-9; v += step) {
		double x = scale.x(scale.from + static_cast<Nanos>(std::llround(v * unit.ns)));
		svg.line(x, top, x, bottom, "#ddd", 1);
		svg.line(x, bottom, x, bottom + 5, "#333");
		svg.text(x, bottom + 18, number(v), "middle", 11);
	}
	svg.text(kLeft + kPlotWidth / 2, bottom + 36, fmt::format("{} ({})", what, unit.name), "middle", 12);
}

void laneLabels(Canvas &svg, const TraceData &data, double top)
{
	for (std::size_t i = 0; i < data.vms.size(); ++i) {
		double y = top + static_cast<double>(i) * (kLaneHeight + kLaneGap);
		svg.rect(kLeft, y, kPlotWidth, kLaneHeight, "#f4f4f4");
		svg.text(kLeft - 10, y + kLaneHeight / 2 + 4, data.vms[i].name, "end", 12);
	}
}

double lanesHeight(const TraceData &data)
{
	return static_cast<double>(data.vms.size()) * (kLaneHeight + kLaneGap) - kLaneGap;
}

// The whole run: slices closer than about a pixel are drawn as one bar, so
// a long run stays a small file.
void wholeTimeline(Canvas &svg, const TraceData &data, const TimeScale &scale, double top)
{
	constexpr double kMergeGapPx = 0.75;
	struct Bar {
		double x0;
		double x1;
		bool open = false;
	};
	std::vector<Bar> bars(data.vms.size());
	auto flush = [&](std::size_t vm) {
		Bar &bar = bars[vm];
		if (!bar.open)
			return;
		double y = top + static_cast<double>(vm) * (kLaneHeight + kLaneGap);
		svg.rect(bar.x0, y, std::max(bar.x1 - bar.x0, 0.5), kLaneHeight, colourOf(vm));
		bar.open = false;
	};
	for (const SliceEvent &slice : data.slices) {
		if (slice.vm >= bars.size())
			continue;
		double x0 = scale.x(slice.start);
		double x1 = scale.x(slice.end);
		Bar &bar = bars[slice.vm];
		if (bar.open && x0 - bar.x1 < kMergeGapPx) {
			bar.x1 = std::max(bar.x1, x1);
			continue;
		}
		flush(slice.vm);
		bar = { x0, x1, true };
	}
	for (std::size_t vm = 0; vm < bars.size(); ++vm)
		flush(vm);
}

// The first slices, one bar each, with a tooltip per slice.
void closeUp(Canvas &svg, const TraceData &data, const TimeScale &scale, double top)
{
	std::vector<std::uint64_t> index(data.vms.size(), 0);
	for (const SliceEvent &slice : data.slices) {
		if (slice.vm >= data.vms.size())
			continue;
		++index[slice.vm];
		if (slice.start >= scale.to)
			break;
		double x0 = scale.x(slice.start);
		double x1 = scale.x(std::min(slice.end, scale.to));
		double y = top + static_cast<double>(slice.vm) * (kLaneHeight + kLaneGap);
		svg.raw("<g>");
		svg.rect(x0, y, std::max(x1 - x0, 0.5), kLaneHeight, colourOf(slice.vm),
			 "stroke=\"#fff\" stroke-width=\"0.8\"");
		svg.raw(fmt::format("<title>{} slice {}: {:.3f} ms, ran {:.3f} ms, ended by {}</title></g>\n",
				    escapeXml(data.vms[slice.vm].name), index[slice.vm],
				    static_cast<double>(slice.end - slice.start) / 1e6,
				    static_cast<double>(slice.ran) / 1e6, sched::sliceEndName(slice.why)));
	}
}

// Cumulative share of guest time per VM after every slice, and the targets.
void sharePlot(Canvas &svg, const TraceData &data, const TimeScale &scale, double top)
{
	// The axis goes to twice the largest target (100% at most), so small
	// shares of many VMs stay apart; early spikes above it are clipped.
	double largest = 0;
	for (const TraceVm &vm : data.vms)
		largest = std::max(largest, vm.targetShare);
	const int topPct = std::clamp(static_cast<int>(std::ceil(largest * 2 * 10 - 1e-9)) * 10, 20, 100);
	const int gridPct = topPct > 40 ? 10 : 5;
	const int labelPct = topPct > 60 ? 20 : topPct > 30 ? 10
							    : 5;
	double bottom = top + kShareHeight;
	auto y = [&](double share) { return bottom - kShareHeight * share * 100 / topPct; };
	svg.rect(kLeft, top, kPlotWidth, kShareHeight, "#fafafa");
	svg.raw(fmt::format("<clipPath id=\"share-area\"><rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" "
			    "height=\"{:.2f}\"/></clipPath>\n",
			    kLeft, top - 1, kPlotWidth, kShareHeight + 2));
	for (int pct = 0; pct <= topPct; pct += gridPct) {
		double yy = y(pct / 100.0);
		svg.line(kLeft, yy, kLeft + kPlotWidth, yy, pct % 50 == 0 ? "#ccc" : "#eee");
		if (pct % labelPct == 0) {
			svg.line(kLeft - 5, yy, kLeft, yy, "#333");
			svg.text(kLeft - 8, yy + 4, fmt::format("{}%", pct), "end", 11);
		}
	}
	svg.line(kLeft, top, kLeft, bottom, "#333");
	svg.text(kLeft - 62, top + kShareHeight / 2, "share of guest time so far", "middle", 12,
		 fmt::format("transform=\"rotate(-90 {:.2f} {:.2f})\"", kLeft - 62, top + kShareHeight / 2));
	timeAxis(svg, scale, top, bottom, "time since start");

	// VMs with the same target share one line and one label (equal shares
	// are the common case); a label that would overlap the one above is
	// left out (the legend has every target, the line's colour says whose).
	std::vector<std::pair<std::string, std::vector<std::size_t>>> targets; // label value -> VMs
	for (std::size_t vm = 0; vm < data.vms.size(); ++vm) {
		std::string value = percent(data.vms[vm].targetShare);
		auto it = std::find_if(targets.begin(), targets.end(), [&](const auto &t) { return t.first == value; });
		if (it == targets.end())
			targets.push_back({ value, { vm } });
		else
			it->second.push_back(vm);
	}
	std::sort(targets.begin(), targets.end(), [&](const auto &a, const auto &b) {
		return data.vms[a.second[0]].targetShare > data.vms[b.second[0]].targetShare;
	});
	double lastLabel = -1e9;
	Canvas labels; // drawn over the curves, with a white halo
	for (const auto &[value, vms] : targets) {
		double yy = y(data.vms[vms[0]].targetShare);
		const char *colour = vms.size() == 1 ? colourOf(vms[0]) : "#555";
		std::string who;
		if (vms.size() > 3)
			who = fmt::format("{} VMs", vms.size());
		else
			for (std::size_t vm : vms)
				who += (who.empty() ? "" : ", ") + data.vms[vm].name;
		svg.line(kLeft, yy, kLeft + kPlotWidth, yy, colour, 1.5, "stroke-dasharray=\"7 5\"");
		double labelY = yy - 5;
		if (labelY < lastLabel + 13)
			continue;
		labels.text(kLeft + kPlotWidth - 4, labelY, fmt::format("{} target {}", who, value), "end", 11,
			    fmt::format("fill=\"{}\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"", colour));
		lastLabel = labelY;
	}

	// One point per VM per slice end, thinned to about two per pixel.
	std::vector<Nanos> ran(data.vms.size(), 0);
	Nanos total = 0;
	std::vector<std::string> points(data.vms.size());
	std::vector<double> lastX(data.vms.size(), -1e9);
	for (std::size_t s = 0; s < data.slices.size(); ++s) {
		const SliceEvent &slice = data.slices[s];
		if (slice.vm >= ran.size())
			continue;
		ran[slice.vm] += slice.ran;
		total += slice.ran;
		if (total <= 0)
			continue;
		double x = scale.x(slice.end);
		bool last = s + 1 == data.slices.size();
		for (std::size_t vm = 0; vm < ran.size(); ++vm) {
			if (x - lastX[vm] < 0.5 && !last)
				continue;
			lastX[vm] = x;
			double share = static_cast<double>(ran[vm]) / static_cast<double>(total);
			fmt::format_to(std::back_inserter(points[vm]), "{:.1f},{:.1f} ", x, y(share));
		}
	}
	for (std::size_t vm = 0; vm < points.size(); ++vm) {
		if (points[vm].empty())
			continue;
		points[vm].pop_back();
		svg.raw(fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
				    "stroke-linejoin=\"round\" clip-path=\"url(#share-area)\" points=\"{}\"/>\n",
				    colourOf(vm), points[vm]));
	}
	svg.raw(labels.out());
}

} // namespace

std::string plotSvg(const TraceData &data)
{
	// Times relative to the run's start; the end is the wall time, or the
	// last slice when the trace has none.
	Nanos end = data.wall;
	for (const SliceEvent &slice : data.slices)
		end = std::max(end, slice.end - data.origin);
	end = std::max<Nanos>(end, 1);
	TimeScale whole{ data.origin, data.origin + end };

	Nanos closeUpLength = data.quantum > 0 ? kCloseUpQuanta * data.quantum : end / 10;
	bool showCloseUp = !data.slices.empty() && end > closeUpLength * 3 / 2;
	TimeScale close{ data.origin, data.origin + closeUpLength };

	std::vector<VmTotals> totals = totalsByVm(data);
	Nanos guest = 0;
	for (const VmTotals &t : totals)
		guest += t.ran;

	Canvas body;
	double y = 30;
	std::string names;
	for (std::size_t i = 0; i < data.vms.size(); ++i)
		names += (i == 0 ? "" : i + 1 == data.vms.size() ? " and "
								 : ", ") +
			 data.vms[i].name;
	std::string title = names.size() <= 60 ? names : fmt::format("{} VMs", data.vms.size());
	body.text(kLeft, y, fmt::format("quanta: {}", title), "start", 18, "font-weight=\"bold\"");
	y += 22;
	body.text(kLeft, y,
		  fmt::format("policy {}, quantum {} ms, {} slices over {:.2f} s{}", data.policy,
			      number(static_cast<double>(data.quantum) / 1e6), data.slices.size(),
			      static_cast<double>(end) / 1e9,
			      data.droppedExits ? fmt::format(" ({} exit events dropped)", data.droppedExits) : ""),
		  "start", 12, "fill=\"#555\"");

	// Legend: as many VMs per row as their entries allow (about 7 px a
	// character at this size), at most three.
	y += 26;
	std::vector<std::string> entries;
	std::size_t longest = 0;
	for (std::size_t i = 0; i < data.vms.size(); ++i) {
		double achieved = guest > 0 && i < totals.size()
					  ? 100.0 * static_cast<double>(totals[i].ran) / static_cast<double>(guest)
					  : 0.0;
		entries.push_back(fmt::format("{}: target {}, achieved {:.2f}%", data.vms[i].name,
					      percent(data.vms[i].targetShare), achieved));
		longest = std::max(longest, entries.back().size());
	}
	const double entryWidth = 20 + 7.0 * static_cast<double>(longest) + 24;
	const std::size_t kPerRow = std::clamp<std::size_t>(static_cast<std::size_t>(kPlotWidth / entryWidth), 1, 3);
	for (std::size_t i = 0; i < data.vms.size(); ++i) {
		double x = kLeft + static_cast<double>(i % kPerRow) * (kPlotWidth / kPerRow);
		double row = y + static_cast<double>(i / kPerRow) * 20;
		body.rect(x, row - 11, 14, 14, colourOf(i));
		body.text(x + 20, row, entries[i], "start", 12);
	}
	y += static_cast<double>((data.vms.size() + kPerRow - 1) / kPerRow) * 20 + 4;
	body.line(kLeft, y - 4, kLeft + 28, y - 4, "#666", 1.5, "stroke-dasharray=\"7 5\"");
	body.text(kLeft + 34, y, "dashed: target share", "start", 11, "fill=\"#555\"");

	y += 34;
	body.text(kLeft, y, "Timeline: which VM ran when", "start", 14, "font-weight=\"bold\"");
	y += 12;
	// Lanes, then the grid, then the bars: grid lines must not cut bars.
	double lanes = lanesHeight(data);
	laneLabels(body, data, y);
	timeAxis(body, whole, y, y + lanes + 4, "time since start");
	wholeTimeline(body, data, whole, y);
	y += lanes + 4 + 60;

	if (showCloseUp) {
		body.text(kLeft, y,
			  fmt::format("Close-up: the first {} quanta, one bar per slice", kCloseUpQuanta),
			  "start", 14, "font-weight=\"bold\"");
		y += 12;
		laneLabels(body, data, y);
		timeAxis(body, close, y, y + lanes + 4, "time since start");
		closeUp(body, data, close, y);
		y += lanes + 4 + 60;
	}

	body.text(kLeft, y, "Cumulative share of guest CPU time against the target", "start", 14,
		  "font-weight=\"bold\"");
	y += 14;
	sharePlot(body, data, whole, y);
	y += kShareHeight + 50;

	if (data.slices.empty())
		body.text(kWidth / 2, 40, "(no slices recorded)", "middle", 14);

	std::string svg = fmt::format(
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1:.0f}\" "
		"viewBox=\"0 0 {0} {1:.0f}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
		"<title>quanta schedule: {2}</title>\n"
		"<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n",
		kWidth, y, escapeXml(names));
	svg += body.out();
	svg += "</svg>\n";
	return svg;
}

} // namespace quanta::trace
