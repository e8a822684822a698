#include "trace/Plot.h"

#include "base/Text.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <fmt/format.h>
#include <iterator>

namespace quanta::trace {

namespace {

// Sizes of one style. Times are handled as doubles relative to the run's
// start: a trace file may hold any 64-bit values, and integer arithmetic on
// them could overflow.
struct Style {
	double width;
	double left;  // lane labels and the share axis
	double right; // target labels beside the share plot
	double lane;  // lane height
	double laneGap;
	double shareHeight;
	double small; // font sizes: ticks, notes
	double normal;
	double heading;
	double title;
	int ticks; // about this many intervals on a time axis

	double plotWidth() const { return width - left - right; }
	// DejaVu Sans averages about 0.6 em per character: enough to keep
	// labels apart (and fitted) without measuring text.
	static double textWidth(std::string_view text, double size)
	{
		return 0.6 * size * static_cast<double>(text.size());
	}
};

constexpr Style kNormal{ 960, 120, 120, 22, 6, 260, 11, 12, 14, 18, 8 };
constexpr Style kBig{ 960, 150, 150, 34, 8, 300, 16, 17, 20, 26, 5 };

// The close-up shows this many quanta: two cycles of frac at 70,30.
constexpr double kCloseUpQuanta = 30;

// Tableau 10: distinguishable, and still readable in grey scale.
constexpr const char *kPalette[] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
				     "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };
constexpr const char *kOverrunColour = "#c0392b";

const char *colourOf(std::size_t vm)
{
	return kPalette[vm % std::size(kPalette)];
}

// Cuts text to at most `chars` characters, marking the cut with "...";
// never inside a UTF-8 sequence.
std::string fitText(std::string_view text, double chars)
{
	std::size_t limit = chars < 4 ? 4 : static_cast<std::size_t>(chars);
	if (text.size() <= limit)
		return std::string(text);
	std::size_t cut = limit - 3;
	while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
		--cut;
	return std::string(text.substr(0, cut)) + "...";
}

// A time unit that keeps tick labels short for a span of this length (ns).
struct TimeUnit {
	double ns;
	const char *name;
};

TimeUnit unitFor(double span)
{
	if (span >= 2e9)
		return { 1e9, "s" };
	if (span >= 2e6)
		return { 1e6, "ms" };
	return { 1e3, "us" };
}

// 1, 2 or 5 times a power of ten, giving about `ticks` intervals.
double niceStep(double span, int ticks)
{
	if (!(span > 0) || !std::isfinite(span))
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
	void text(double x, double y, std::string_view text, std::string_view anchor, double size,
		  std::string_view extra = {})
	{
		fmt::format_to(std::back_inserter(out_),
			       "<text x=\"{:.2f}\" y=\"{:.2f}\" font-size=\"{}\" text-anchor=\"{}\"{}{}>{}</text>\n", x,
			       y, size, anchor, extra.empty() ? "" : " ", extra, escapeXml(text));
	}
	void raw(std::string_view text) { out_ += text; }
	const std::string &out() const { return out_; }

private:
	std::string out_;
};

// What a VM was doing between two of its slices.
enum class Gap {
	Waiting, // runnable, another VM had the CPU
	Parked,  // waiting for input or a peer
};

struct GapSpan {
	double from; // ns since the run's start
	double to;
	std::uint32_t vm;
	Gap what;
};

// Every VM is runnable from the start; after a slice it waits again, is
// parked (the slice ended in Park) or is gone (halted, faulted).
std::vector<GapSpan> gapsOf(const TraceData &data, double end)
{
	struct Last {
		double end = 0;
		sched::SliceEnd why = sched::SliceEnd::Stop;
	};
	std::vector<Last> last(data.vms.size());
	std::vector<GapSpan> gaps;
	auto gap = [&](std::uint32_t vm, double to) {
		const Last &l = last[vm];
		if (l.why == sched::SliceEnd::Halt || l.why == sched::SliceEnd::Fault || !(to > l.end))
			return;
		gaps.push_back({ l.end, to, vm, l.why == sched::SliceEnd::Park ? Gap::Parked : Gap::Waiting });
	};
	const double origin = static_cast<double>(data.origin);
	for (const SliceEvent &slice : data.slices) {
		if (slice.vm >= last.size())
			continue;
		gap(slice.vm, static_cast<double>(slice.start) - origin);
		last[slice.vm] = { static_cast<double>(slice.end) - origin, slice.why };
	}
	for (std::uint32_t vm = 0; vm < last.size(); ++vm)
		gap(vm, end);
	return gaps;
}

// Merges bars of one lane that are closer than about a pixel, so a long run
// stays a small file.
class BarMerger {
public:
	BarMerger(Canvas &svg, double y, double height, std::string fill, std::string extra = {})
		: svg_(svg), y_(y), height_(height), fill_(std::move(fill)), extra_(std::move(extra))
	{
	}
	~BarMerger() { flush(); }
	BarMerger(const BarMerger &) = delete;
	BarMerger &operator=(const BarMerger &) = delete;

	void add(double x0, double x1)
	{
		constexpr double kMergeGapPx = 0.75;
		if (open_ && x0 - x1_ < kMergeGapPx) {
			x1_ = std::max(x1_, x1);
			return;
		}
		flush();
		x0_ = x0;
		x1_ = x1;
		open_ = true;
	}
	void flush()
	{
		if (open_)
			svg_.rect(x0_, y_, std::max(x1_ - x0_, 0.5), height_, fill_, extra_);
		open_ = false;
	}

private:
	Canvas &svg_;
	double y_;
	double height_;
	std::string fill_;
	std::string extra_;
	double x0_ = 0;
	double x1_ = 0;
	bool open_ = false;
};

class Plotter {
public:
	Plotter(const TraceData &data, const Style &style)
		: data_(data), s_(style)
	{
		origin_ = static_cast<double>(data.origin);
		end_ = std::max(static_cast<double>(data.wall), 0.0);
		for (const SliceEvent &slice : data.slices)
			end_ = std::max(end_, rel(slice.end));
		end_ = std::max(end_, 1.0);
		quantum_ = std::max(static_cast<double>(data.quantum), 0.0);
		budget_ = data.policy != "io" && quantum_ > 0;
		ran_.assign(data.vms.size(), 0);
		for (const SliceEvent &slice : data.slices) {
			if (slice.vm >= ran_.size())
				continue;
			ran_[slice.vm] += static_cast<double>(slice.ran);
			guest_ += static_cast<double>(slice.ran);
			if (overran(slice))
				++overruns_;
		}
	}

	std::string svg();

private:
	// Maps [from, to) (ns since the start) onto the plot's x range.
	struct TimeScale {
		double from;
		double to;
		double left;
		double width;
		double x(double t) const { return left + width * (t - from) / std::max(to - from, 1.0); }
	};

	double rel(Nanos t) const { return static_cast<double>(t) - origin_; }
	double laneY(double top, std::size_t vm) const { return top + static_cast<double>(vm) * (s_.lane + s_.laneGap); }
	double lanesHeight() const
	{
		return static_cast<double>(data_.vms.size()) * (s_.lane + s_.laneGap) - s_.laneGap;
	}
	TimeScale scale(double from, double to) const { return { from, to, s_.left, s_.plotWidth() }; }
	bool overran(const SliceEvent &slice) const
	{
		return budget_ && rel(slice.end) - rel(slice.start) > quantum_ * (1 + kOverrunFraction);
	}

	void defs();
	void header();
	void timeAxis(const TimeScale &scale, double top, double bottom, std::string_view what);
	void laneLabels(double top);
	void gaps(const TimeScale &scale, double top, bool merge);
	void wholeTimeline(const TimeScale &scale, double top);
	void closeUp(const TimeScale &scale, double top);
	void sharePlot(const TimeScale &scale, double top);

	const TraceData &data_;
	const Style &s_;
	Canvas body_;
	double y_ = 0; // where the next panel goes
	double origin_ = 0;
	double end_ = 1;
	double quantum_ = 0;
	bool budget_ = false; // slices have a quantum (every policy but io)
	std::vector<double> ran_;
	double guest_ = 0;
	std::uint64_t overruns_ = 0;
};

// Hatching for parked time and for the part of a slice past its quantum.
void Plotter::defs()
{
	body_.raw(fmt::format("<defs>\n"
			      "<pattern id=\"parked\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
			      "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#e8e8e8\"/>"
			      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#8a8a8a\" stroke-width=\"2\"/></pattern>\n"
			      "<pattern id=\"overrun\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\" "
			      "patternTransform=\"rotate(-45)\"><rect width=\"5\" height=\"5\" fill=\"#fff\"/>"
			      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"5\" stroke=\"{}\" stroke-width=\"2.5\"/></pattern>\n"
			      "</defs>\n",
			      kOverrunColour));
}

// Ticks, grid lines from top to bottom, and the axis label under them.
// Labels count from the run's start, which is time 0.
void Plotter::timeAxis(const TimeScale &scale, double top, double bottom, std::string_view what)
{
	TimeUnit unit = unitFor(scale.to - scale.from);
	double to = (scale.to - scale.from) / unit.ns;
	double step = niceStep(to, s_.ticks);
	// Widen the step until the longest label fits between two ticks.
	double pxPerUnit = s_.plotWidth() / std::max(to, 1e-9);
	while (step * pxPerUnit < Style::textWidth(number(to) + "00", s_.small) && step < to)
		step *= 2;
	body_.line(s_.left, bottom, s_.left + s_.plotWidth(), bottom, "#333");
	for (double v = 0; v <= to + step * 1e-9; v += step) {
		double x = scale.x(scale.from + v * unit.ns);
		body_.line(x, top, x, bottom, "#ddd", 1);
		body_.line(x, bottom, x, bottom + 5, "#333");
		body_.text(x, bottom + 6 + s_.small, number(v), "middle", s_.small);
	}
	body_.text(s_.left + s_.plotWidth() / 2, bottom + 10 + s_.small + s_.normal,
		   fmt::format("{} ({})", what, unit.name), "middle", s_.normal);
}

void Plotter::laneLabels(double top)
{
	// Names are cut to fit the margin rather than run off the picture.
	double chars = (s_.left - 14) / (0.6 * s_.normal);
	for (std::size_t i = 0; i < data_.vms.size(); ++i) {
		double y = laneY(top, i);
		body_.rect(s_.left, y, s_.plotWidth(), s_.lane, "#f4f4f4");
		body_.text(s_.left - 10, y + s_.lane / 2 + s_.normal * 0.35, fitText(data_.vms[i].name, chars), "end",
			   s_.normal);
	}
}

// Waiting (a pale band of the VM's colour) and parked (grey hatching) time.
void Plotter::gaps(const TimeScale &scale, double top, bool merge)
{
	std::vector<GapSpan> spans = gapsOf(data_, end_);
	for (Gap kind : { Gap::Waiting, Gap::Parked }) {
		for (std::size_t vm = 0; vm < data_.vms.size(); ++vm) {
			double y = laneY(top, vm);
			std::string fill = kind == Gap::Parked ? "url(#parked)" : colourOf(vm);
			std::string extra = kind == Gap::Parked ? "" : "fill-opacity=\"0.22\"";
			BarMerger bars(body_, y, s_.lane, fill, extra);
			for (const GapSpan &span : spans) {
				if (span.vm != vm || span.what != kind || span.from >= scale.to)
					continue;
				double x0 = scale.x(span.from);
				double x1 = scale.x(std::min(span.to, scale.to));
				if (merge)
					bars.add(x0, x1);
				else
					body_.rect(x0, y, std::max(x1 - x0, 0.5), s_.lane, fill, extra);
			}
		}
	}
}

// The whole run; an overrun shows as a red strip over the part of the
// slice past its quantum (at least 2 px, to be seen at any zoom).
void Plotter::wholeTimeline(const TimeScale &scale, double top)
{
	gaps(scale, top, true);
	{
		std::deque<BarMerger> bars; // flushed when they go
		for (std::size_t vm = 0; vm < data_.vms.size(); ++vm)
			bars.emplace_back(body_, laneY(top, vm), s_.lane, colourOf(vm));
		for (const SliceEvent &slice : data_.slices)
			if (slice.vm < bars.size())
				bars[slice.vm].add(scale.x(rel(slice.start)), scale.x(rel(slice.end)));
	}
	double strip = std::max(4.0, s_.lane / 4);
	for (const SliceEvent &slice : data_.slices) {
		if (slice.vm >= data_.vms.size() || !overran(slice))
			continue;
		double x0 = scale.x(rel(slice.start) + quantum_);
		double x1 = std::max(scale.x(rel(slice.end)), x0 + 2);
		body_.rect(x0, laneY(top, slice.vm), x1 - x0, strip, kOverrunColour);
	}
}

// The first slices, one bar each with a tooltip; a tick where each slice's
// quantum ended and hatching past it when the slice overran.
void Plotter::closeUp(const TimeScale &scale, double top)
{
	gaps(scale, top, false);
	std::vector<std::uint64_t> index(data_.vms.size(), 0);
	for (const SliceEvent &slice : data_.slices) {
		if (slice.vm >= data_.vms.size())
			continue;
		++index[slice.vm];
		double start = rel(slice.start);
		double end = rel(slice.end);
		if (start >= scale.to)
			break;
		double x0 = scale.x(start);
		double x1 = scale.x(std::min(end, scale.to));
		double y = laneY(top, slice.vm);
		double budgetEnd = start + quantum_;
		bool over = overran(slice);
		body_.raw("<g>");
		double solidEnd = over ? std::min(scale.x(budgetEnd), x1) : x1;
		body_.rect(x0, y, std::max(solidEnd - x0, 0.5), s_.lane, colourOf(slice.vm),
			   "stroke=\"#fff\" stroke-width=\"0.8\"");
		if (over && x1 > solidEnd)
			body_.rect(solidEnd, y, x1 - solidEnd, s_.lane, "url(#overrun)",
				   fmt::format("stroke=\"{}\" stroke-width=\"1\"", kOverrunColour));
		// The quantum's end, on slices that reached it.
		if (budget_ && end - start >= quantum_ * 0.9 && budgetEnd < scale.to) {
			double xq = scale.x(budgetEnd);
			body_.line(xq, y - 3, xq, y + s_.lane + 3, "#222", 1.5);
		}
		body_.raw(fmt::format("<title>{} slice {}: {:.3f} ms{}, ran {:.3f} ms, ended by {}</title></g>\n",
				      escapeXml(data_.vms[slice.vm].name), index[slice.vm], (end - start) / 1e6,
				      over ? fmt::format(" ({:.3f} ms past its quantum)", (end - budgetEnd) / 1e6) : "",
				      static_cast<double>(slice.ran) / 1e6, sched::sliceEndName(slice.why)));
	}
}

// Cumulative share of guest time per VM after every slice, and the targets.
void Plotter::sharePlot(const TimeScale &scale, double top)
{
	// The axis goes to twice the largest target (100% at most), so small
	// shares of many VMs stay apart; early spikes above it are clipped.
	double largest = 0;
	for (const TraceVm &vm : data_.vms)
		largest = std::max(largest, std::isfinite(vm.targetShare) ? vm.targetShare : 0.0);
	const int topPct = std::clamp(static_cast<int>(std::ceil(std::min(largest, 1.0) * 2 * 10 - 1e-9)) * 10, 20, 100);
	const int gridPct = topPct > 40 ? 10 : 5;
	const int labelPct = s_.small >= 16 ? (topPct > 40 ? 20 : 10)
			     : topPct > 60  ? 20
			     : topPct > 30  ? 10
					    : 5;
	const double height = s_.shareHeight;
	const double right = s_.left + s_.plotWidth();
	double bottom = top + height;
	auto y = [&](double share) { return bottom - height * share * 100 / topPct; };
	body_.rect(s_.left, top, s_.plotWidth(), height, "#fafafa");
	body_.raw(fmt::format("<clipPath id=\"share-area\"><rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" "
			      "height=\"{:.2f}\"/></clipPath>\n",
			      s_.left, top - 1, s_.plotWidth(), height + 2));
	for (int pct = 0; pct <= topPct; pct += gridPct) {
		double yy = y(pct / 100.0);
		body_.line(s_.left, yy, right, yy, pct % 50 == 0 ? "#ccc" : "#eee");
		if (pct % labelPct == 0) {
			body_.line(s_.left - 5, yy, s_.left, yy, "#333");
			body_.text(s_.left - 8, yy + s_.small * 0.35, fmt::format("{}%", pct), "end", s_.small);
		}
	}
	body_.line(s_.left, top, s_.left, bottom, "#333");
	// The axis title sits left of the widest tick label ("100%").
	double titleX = s_.left - 12 - Style::textWidth("100%", s_.small) - s_.normal * 0.5;
	body_.text(titleX, top + height / 2, "share of guest time so far", "middle", s_.normal,
		   fmt::format("transform=\"rotate(-90 {:.2f} {:.2f})\"", titleX, top + height / 2));
	timeAxis(scale, top, bottom, "time since start");

	// VMs with the same target share one line and one label (equal shares
	// are the common case). Labels stand right of the plot, beside their
	// line, so no curve crosses them; when two would overlap the lower one
	// moves down (a short leader joins it to its line).
	std::vector<std::pair<std::string, std::vector<std::size_t>>> targets; // label value -> VMs
	for (std::size_t vm = 0; vm < data_.vms.size(); ++vm) {
		std::string value = percent(data_.vms[vm].targetShare);
		auto it = std::find_if(targets.begin(), targets.end(), [&](const auto &t) { return t.first == value; });
		if (it == targets.end())
			targets.push_back({ value, { vm } });
		else
			it->second.push_back(vm);
	}
	std::stable_sort(targets.begin(), targets.end(), [&](const auto &a, const auto &b) {
		return data_.vms[a.second[0]].targetShare > data_.vms[b.second[0]].targetShare;
	});
	double lastLabel = -1e9;
	const double chars = (s_.right - 22) / (0.6 * s_.small);
	for (const auto &[value, vms] : targets) {
		double share = std::clamp(data_.vms[vms[0]].targetShare, 0.0, topPct / 100.0);
		double yy = y(share);
		const char *colour = vms.size() == 1 ? colourOf(vms[0]) : "#555";
		std::string who;
		if (vms.size() > 3)
			who = fmt::format("{} VMs", vms.size());
		else
			for (std::size_t vm : vms)
				who += (who.empty() ? "" : ", ") + data_.vms[vm].name;
		body_.line(s_.left, yy, right, yy, colour, 1.5, "stroke-dasharray=\"7 5\"");
		double labelY = std::max(yy + s_.small * 0.35, lastLabel + s_.small * 1.25);
		if (labelY > bottom + s_.small)
			continue; // no room left: the legend has every target
		if (labelY - (yy + s_.small * 0.35) > 1)
			body_.line(right, yy, right + 6, labelY - s_.small * 0.35, colour, 1);
		std::string label = value + " " + who;
		if (vms.size() > 1 && static_cast<double>(label.size()) > chars)
			label = fmt::format("{} ({} VMs)", value, vms.size());
		body_.text(right + 8, labelY, fitText(label, chars), "start", s_.small,
			   fmt::format("fill=\"{}\"", colour));
		lastLabel = labelY;
	}

	// One point per VM per slice end, thinned to about two per pixel.
	std::vector<double> ran(data_.vms.size(), 0);
	double total = 0;
	std::vector<std::string> points(data_.vms.size());
	std::vector<double> lastX(data_.vms.size(), -1e9);
	for (std::size_t i = 0; i < data_.slices.size(); ++i) {
		const SliceEvent &slice = data_.slices[i];
		if (slice.vm >= ran.size())
			continue;
		ran[slice.vm] += static_cast<double>(slice.ran);
		total += static_cast<double>(slice.ran);
		if (!(total > 0))
			continue;
		double x = scale.x(rel(slice.end));
		bool last = i + 1 == data_.slices.size();
		for (std::size_t vm = 0; vm < ran.size(); ++vm) {
			if (x - lastX[vm] < 0.5 && !last)
				continue;
			lastX[vm] = x;
			fmt::format_to(std::back_inserter(points[vm]), "{:.1f},{:.1f} ", x, y(ran[vm] / total));
		}
	}
	for (std::size_t vm = 0; vm < points.size(); ++vm) {
		if (points[vm].empty())
			continue;
		points[vm].pop_back();
		body_.raw(fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
				      "stroke-linejoin=\"round\" clip-path=\"url(#share-area)\" points=\"{}\"/>\n",
				      colourOf(vm), s_.small >= 16 ? 3 : 2, points[vm]));
	}
}

// Title, the run's parameters and the legend.
void Plotter::header()
{
	y_ = s_.title + 12;
	std::string names;
	for (std::size_t i = 0; i < data_.vms.size(); ++i)
		names += (i == 0 ? "" : i + 1 == data_.vms.size() ? " and "
								  : ", ") +
			 data_.vms[i].name;
	std::string title = names.size() <= 60 ? names : fmt::format("{} VMs", data_.vms.size());
	double width = s_.width - s_.left - 10;
	body_.text(s_.left, y_, fitText(fmt::format("quanta: {}", title), width / (0.62 * s_.title)), "start",
		   s_.title, "font-weight=\"bold\"");
	y_ += s_.normal + 10;
	std::string overruns =
		budget_ ? fmt::format(", {} overran", overruns_) : std::string(", no quantum (io policy)");
	body_.text(s_.left, y_,
		   fmt::format("policy {}, quantum {} ms, {} slices over {:.2f} s{}{}", data_.policy,
			       number(quantum_ / 1e6), data_.slices.size(), end_ / 1e9, overruns,
			       data_.droppedExits ? fmt::format(" ({} exit events dropped)", data_.droppedExits) : ""),
		   "start", s_.normal, "fill=\"#555\"");

	// Legend: as many VMs per row as their entries allow, at most three.
	y_ += s_.normal + 14;
	std::vector<std::string> entries;
	std::size_t longest = 0;
	for (std::size_t i = 0; i < data_.vms.size(); ++i) {
		double achieved = guest_ > 0 ? 100.0 * ran_[i] / guest_ : 0.0;
		entries.push_back(fmt::format("{}: target {}, achieved {:.2f}%", data_.vms[i].name,
					      percent(data_.vms[i].targetShare), achieved));
		longest = std::max(longest, entries.back().size());
	}
	const double swatch = s_.normal + 2;
	const double entryWidth = swatch + 6 + 0.6 * s_.normal * static_cast<double>(longest) + 24;
	const std::size_t perRow =
		std::clamp<std::size_t>(static_cast<std::size_t>(s_.plotWidth() / entryWidth), 1, 3);
	const double column = (s_.width - s_.left - 10) / static_cast<double>(perRow);
	const double rowHeight = s_.normal + 8;
	for (std::size_t i = 0; i < data_.vms.size(); ++i) {
		double x = s_.left + static_cast<double>(i % perRow) * column;
		double row = y_ + static_cast<double>(i / perRow) * rowHeight;
		body_.rect(x, row - swatch + 3, swatch, swatch, colourOf(i));
		body_.text(x + swatch + 6, row, fitText(entries[i], (column - swatch - 12) / (0.6 * s_.normal)),
			   "start", s_.normal);
	}
	y_ += static_cast<double>((data_.vms.size() + perRow - 1) / perRow) * rowHeight + 4;

	// Keys for what the lanes and lines show, in one row.
	double x = s_.left;
	const double key = s_.small * 2;
	auto keyText = [&](std::string_view text) {
		body_.text(x + key + 5, y_, text, "start", s_.small, "fill=\"#555\"");
		x += key + 5 + Style::textWidth(text, s_.small) + 16;
	};
	body_.rect(x, y_ - s_.small + 2, key, s_.small, "#888", "fill-opacity=\"0.22\"");
	keyText("waiting to run");
	body_.rect(x, y_ - s_.small + 2, key, s_.small, "url(#parked)");
	keyText("parked");
	if (budget_) {
		body_.rect(x, y_ - s_.small + 2, key, s_.small, "url(#overrun)",
			   fmt::format("stroke=\"{}\"", kOverrunColour));
		keyText(fmt::format("past its quantum (> {:.0f}%)", kOverrunFraction * 100));
	}
	body_.line(x, y_ - s_.small / 2 + 2, x + key, y_ - s_.small / 2 + 2, "#666", 1.5, "stroke-dasharray=\"7 5\"");
	keyText("target share");
}

std::string Plotter::svg()
{
	defs();
	header();
	const double lanes = lanesHeight();
	const double axisRoom = 16 + s_.small + s_.normal + 24; // ticks, labels, the axis title, a gap
	TimeScale whole = scale(0, end_);

	y_ += s_.heading + 22;
	body_.text(s_.left, y_, "Timeline: when each VM ran, waited and was parked", "start", s_.heading,
		   "font-weight=\"bold\"");
	y_ += 12;
	// Lanes, then the grid, then the bars: grid lines must not cut bars.
	laneLabels(y_);
	timeAxis(whole, y_, y_ + lanes + 4, "time since start");
	wholeTimeline(whole, y_);
	if (data_.slices.empty())
		body_.text(s_.left + s_.plotWidth() / 2, y_ + lanes / 2 + s_.normal * 0.35, "(no slices recorded)",
			   "middle", s_.heading);
	y_ += lanes + 4 + axisRoom;

	double closeUpLength = quantum_ > 0 ? kCloseUpQuanta * quantum_ : end_ / 10;
	if (!data_.slices.empty() && end_ > closeUpLength * 1.5) {
		y_ += s_.heading;
		body_.text(s_.left, y_,
			   fmt::format("Close-up: the first {:.0f} quanta, one bar per slice", kCloseUpQuanta), "start",
			   s_.heading, "font-weight=\"bold\"");
		if (budget_) {
			// A scale bar one quantum long, and what the ticks mean, on a
			// line of their own under the heading.
			y_ += s_.small + 10;
			TimeScale close = scale(0, closeUpLength);
			double bar = close.x(quantum_) - s_.left;
			double yy = y_ - s_.small * 0.35;
			body_.line(s_.left, yy, s_.left + bar, yy, "#222", 2);
			body_.line(s_.left, yy - 5, s_.left, yy + 5, "#222", 1.5);
			body_.line(s_.left + bar, yy - 5, s_.left + bar, yy + 5, "#222", 1.5);
			body_.text(s_.left + bar + 8, y_,
				   fmt::format("one quantum ({} ms); a tick marks where each slice's quantum ended",
					       number(quantum_ / 1e6)),
				   "start", s_.small, "fill=\"#333\"");
		}
		y_ += 12;
		TimeScale close = scale(0, closeUpLength);
		laneLabels(y_);
		timeAxis(close, y_, y_ + lanes + 4, "time since start");
		closeUp(close, y_);
		y_ += lanes + 4 + axisRoom;
	}

	y_ += s_.heading;
	body_.text(s_.left, y_, "Cumulative share of guest CPU time against the target", "start", s_.heading,
		   "font-weight=\"bold\"");
	y_ += 14;
	sharePlot(whole, y_);
	y_ += s_.shareHeight + axisRoom;

	std::string names;
	for (std::size_t i = 0; i < data_.vms.size(); ++i)
		names += (i == 0 ? "" : ", ") + data_.vms[i].name;
	// No width or height: the viewBox alone lets the picture scale to the
	// window (renderers use the viewBox's size when they need one).
	std::string svg =
		fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1:.0f}\" "
			    "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
			    "<title>quanta schedule: {2}</title>\n"
			    "<rect width=\"{0}\" height=\"{1:.0f}\" fill=\"#fff\"/>\n",
			    s_.width, y_, escapeXml(names));
	svg += body_.out();
	svg += "</svg>\n";
	return svg;
}

} // namespace

std::optional<PlotStyle> parsePlotStyle(std::string_view name)
{
	if (name == "normal")
		return PlotStyle::Normal;
	if (name == "big")
		return PlotStyle::Big;
	return std::nullopt;
}

std::string_view plotStyleName(PlotStyle style)
{
	return style == PlotStyle::Big ? "big" : "normal";
}

std::string plotSvg(const TraceData &data, PlotStyle style)
{
	return Plotter(data, style == PlotStyle::Big ? kBig : kNormal).svg();
}

} // namespace quanta::trace
