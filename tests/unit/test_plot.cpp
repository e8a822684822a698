// The SVG plot: well formed, self-contained, one curve and one target line
// per VM. (tests/trace/plot_svg.py parses it with a real XML parser and
// renders it with rsvg-convert.)
#include <doctest/doctest.h>

#include <climits>
#include <regex>
#include <string>
#include <vector>

#include "trace/Plot.h"
#include "trace/Trace.h"

using namespace quanta;
using namespace quanta::trace;

namespace {

constexpr Nanos kQuantum = 10'000'000;

// Frac at 70,30 for 300 quanta: 7 slices of Neo, 3 of Morpheus, repeat.
TraceData fracRun(std::vector<std::string> names = { "Neo", "Morpheus" })
{
	TraceData data;
	data.policy = "frac";
	data.quantum = kQuantum;
	data.origin = 5'000'000'000;
	data.vms = { { names[0], 70, 0.7 }, { names[1], 30, 0.3 } };
	Nanos t = data.origin;
	for (int i = 0; i < 300; ++i) {
		std::uint32_t vm = i % 10 < 7 ? 0 : 1;
		data.slices.push_back({ t, t + kQuantum, kQuantum - 20'000, vm, 1, sched::SliceEnd::Timer });
		t += kQuantum + 15'000;
	}
	data.wall = t - data.origin;
	return data;
}

// Checks that tags nest and close; our SVG has no comments, CDATA or
// entities beyond the five XML ones.
bool wellNested(const std::string &xml, std::string &why)
{
	std::vector<std::string> open;
	for (std::size_t i = xml.find('<'); i != std::string::npos; i = xml.find('<', i + 1)) {
		std::size_t end = xml.find('>', i);
		if (end == std::string::npos) {
			why = "unterminated tag";
			return false;
		}
		std::string tag = xml.substr(i + 1, end - i - 1);
		if (tag.empty()) {
			why = "empty tag";
			return false;
		}
		if (tag[0] == '?')
			continue;
		if (tag[0] == '/') {
			if (open.empty() || open.back() != tag.substr(1)) {
				why = "unbalanced </" + tag.substr(1) + ">";
				return false;
			}
			open.pop_back();
		} else if (tag.back() != '/') {
			open.push_back(tag.substr(0, tag.find(' ')));
		}
	}
	why = open.empty() ? "" : "unclosed <" + open.back() + ">";
	return open.empty();
}

std::size_t count(const std::string &text, const std::string &what)
{
	std::size_t n = 0;
	for (std::size_t i = text.find(what); i != std::string::npos; i = text.find(what, i + 1))
		++n;
	return n;
}

} // namespace

TEST_CASE("the plot is a well-formed, self-contained SVG with both panels and a legend")
{
	std::string svg = plotSvg(fracRun());
	std::string why;
	CHECK_MESSAGE(wellNested(svg, why), why);
	CHECK(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
	CHECK(svg.find("</svg>\n") == svg.size() - 7);
	CHECK(svg.find("<script") == std::string::npos);
	CHECK(svg.find("href") == std::string::npos); // nothing external
	CHECK(count(svg, "<polyline") == 2);          // one share curve per VM
	CHECK(count(svg, "stroke-dasharray") == 3);   // two targets and the legend's sample
	CHECK(svg.find("Timeline: when each VM ran, waited and was parked") != std::string::npos);
	CHECK(svg.find("Close-up: the first 30 quanta") != std::string::npos);
	CHECK(svg.find("Neo: target 70%, achieved 70.00%") != std::string::npos);
	CHECK(svg.find(">30% Morpheus</text>") != std::string::npos);
	CHECK(svg.find("time since start (s)") != std::string::npos);
	CHECK(svg.find("time since start (ms)") != std::string::npos);
	CHECK(svg.find("share of guest time so far") != std::string::npos);
	CHECK(svg.find("policy frac, quantum 10 ms, 300 slices over 3.00 s, 0 overran") != std::string::npos);
}

TEST_CASE("the close-up shows frac's runs: 7 Neo slices, then 3 Morpheus")
{
	std::string svg = plotSvg(fracRun());
	CHECK(svg.find("<title>Neo slice 7: 10.000 ms, ran 9.980 ms, ended by timer</title>") != std::string::npos);
	CHECK(svg.find("<title>Morpheus slice 3: ") != std::string::npos);
	CHECK(svg.find("<title>Neo slice 8: ") != std::string::npos);  // the second cycle
	CHECK(svg.find("<title>Neo slice 40: ") == std::string::npos); // beyond 30 quanta
}

TEST_CASE("names are escaped; an empty run still draws")
{
	std::string svg = plotSvg(fracRun({ "A&B", "<C>" }));
	std::string why;
	CHECK_MESSAGE(wellNested(svg, why), why);
	CHECK(svg.find("A&amp;B") != std::string::npos);
	CHECK(svg.find("&lt;C&gt;") != std::string::npos);

	TraceData empty;
	empty.policy = "stride";
	empty.vms = { { "solo", 1, 1.0 } };
	svg = plotSvg(empty);
	CHECK_MESSAGE(wellNested(svg, why), why);
	CHECK(svg.find("(no slices recorded)") != std::string::npos);
}

TEST_CASE("a long run stays small: slices closer than a pixel are merged")
{
	TraceData data = fracRun();
	Nanos t = data.origin + data.wall;
	for (int i = 0; i < 60'000; ++i) { // ten more minutes of slices
		std::uint32_t vm = i % 10 < 7 ? 0 : 1;
		data.slices.push_back({ t, t + kQuantum, kQuantum, vm, 1, sched::SliceEnd::Timer });
		t += kQuantum;
	}
	data.wall = t - data.origin;
	std::string svg = plotSvg(data);
	CHECK(svg.size() < 200'000);
}

namespace {

std::vector<double> fontSizes(const std::string &svg)
{
	std::vector<double> sizes;
	std::regex size("font-size=\"([0-9.]+)\"");
	for (auto it = std::sregex_iterator(svg.begin(), svg.end(), size); it != std::sregex_iterator(); ++it)
		sizes.push_back(std::stod((*it)[1]));
	return sizes;
}

// The x and y of every <text> whose content is exactly `what`.
std::vector<std::pair<double, double>> textAt(const std::string &svg, const std::string &what)
{
	std::vector<std::pair<double, double>> at;
	std::regex text("<text x=\"([-0-9.]+)\" y=\"([-0-9.]+)\"[^>]*>([^<]*)</text>");
	for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text); it != std::sregex_iterator(); ++it)
		if ((*it)[3] == what)
			at.push_back({ std::stod((*it)[1]), std::stod((*it)[2]) });
	return at;
}

} // namespace

TEST_CASE("the SVG scales to its window: a viewBox and no fixed size")
{
	std::string svg = plotSvg(fracRun());
	std::string root = svg.substr(svg.find("<svg "), svg.find('>', svg.find("<svg ")) - svg.find("<svg "));
	CHECK(root.find("viewBox=\"0 0 960 ") != std::string::npos);
	CHECK(root.find(" width=") == std::string::npos);
	CHECK(root.find(" height=") == std::string::npos);
}

TEST_CASE("--plot-style big: every font at least 16 px; normal has smaller ones")
{
	CHECK(parsePlotStyle("big") == PlotStyle::Big);
	CHECK(parsePlotStyle("normal") == PlotStyle::Normal);
	CHECK_FALSE(parsePlotStyle("huge"));
	std::vector<double> big = fontSizes(plotSvg(fracRun(), PlotStyle::Big));
	REQUIRE(big.size() > 20);
	CHECK(*std::min_element(big.begin(), big.end()) >= 16);
	std::vector<double> normal = fontSizes(plotSvg(fracRun()));
	CHECK(*std::min_element(normal.begin(), normal.end()) < 16);
}

TEST_CASE("waiting and parked time are drawn; a halted VM's lane stays empty")
{
	TraceData data;
	data.policy = "stride";
	data.quantum = kQuantum;
	data.origin = 1'000;
	data.vms = { { "spin", 1, 0.5 }, { "reader", 1, 0.5 } };
	Nanos t = data.origin;
	auto slice = [&](std::uint32_t vm, Nanos length, sched::SliceEnd why) {
		data.slices.push_back({ t, t + length, length, vm, 1, why });
		t += length;
	};
	slice(1, 1'000'000, sched::SliceEnd::Park); // reader parks at 1 ms ...
	for (int i = 0; i < 60; ++i)
		slice(0, kQuantum, sched::SliceEnd::Timer);
	slice(1, 1'000'000, sched::SliceEnd::Halt); // ... wakes at 601 ms and halts
	slice(0, kQuantum, sched::SliceEnd::Timer);
	data.wall = t - data.origin;
	std::string svg = plotSvg(data);
	// Parked: one hatched bar per panel, from 1 ms to 601 ms.
	CHECK(count(svg, "fill=\"url(#parked)\"") == 1 + 2); // the legend's key and two panels
	// Waiting: spin waits while reader runs (twice, in each panel), reader
	// waits before its first slice never (it runs first) and not after halting.
	CHECK(count(svg, "fill=\"#4e79a7\" fill-opacity=\"0.22\"") >= 2);
	CHECK(count(svg, "fill=\"#f28e2b\" fill-opacity=\"0.22\"") == 0);
	std::string why;
	CHECK_MESSAGE(wellNested(svg, why), why);
}

TEST_CASE("the close-up marks each quantum's end and shows an overrun as such")
{
	TraceData data = fracRun();
	SliceEvent &late = data.slices[4]; // Neo's fifth slice runs 5 ms past its quantum
	late.end += 5'000'000;
	for (std::size_t i = 5; i < data.slices.size(); ++i) {
		data.slices[i].start += 5'000'000;
		data.slices[i].end += 5'000'000;
	}
	data.wall += 5'000'000;
	std::string svg = plotSvg(data);
	CHECK(svg.find("300 slices over 3.01 s, 1 overran") != std::string::npos);
	CHECK(svg.find("<title>Neo slice 5: 15.000 ms (5.000 ms past its quantum), ran 9.980 ms, ended by timer</title>") !=
	      std::string::npos);
	CHECK(count(svg, "fill=\"url(#overrun)\"") == 1 + 1);        // the legend's key and the slice
	CHECK(count(svg, "fill=\"#c0392b\"/>") == 1);                // the strip on the whole timeline
	CHECK(svg.find("one quantum (10 ms)") != std::string::npos); // the scale bar's label
	// A tick at the end of every slice's quantum in the close-up (30 quanta).
	CHECK(count(svg, "stroke=\"#222\" stroke-width=\"1.5\"/>") >= 28);
	CHECK(plotSvg(fracRun()).find("url(#overrun)\"") != std::string::npos); // the legend explains it
	CHECK(count(plotSvg(fracRun()), "fill=\"url(#overrun)\"") == 1);        // but no slice overran
}

TEST_CASE("target labels stand right of the plot and apart, even for close targets")
{
	TraceData data = fracRun();
	data.vms = { { "Neo", 50, 0.5 }, { "Morpheus", 49, 0.49 } };
	std::string svg = plotSvg(data);
	auto neo = textAt(svg, "50% Neo");
	auto morpheus = textAt(svg, "49% Morpheus");
	REQUIRE(neo.size() == 1);
	REQUIRE(morpheus.size() == 1);
	CHECK(neo[0].first > 960 - 120);                 // in the right margin, where no curve goes
	CHECK(morpheus[0].second - neo[0].second >= 11); // a line of text apart
}

TEST_CASE("a trace with absurd numbers still draws (no overflow, no nan)")
{
	TraceData data;
	data.policy = "frac";
	data.quantum = LLONG_MAX;
	data.origin = LLONG_MIN + 5;
	data.wall = LLONG_MAX;
	data.vms = { { "a", 1, 0.5 }, { "b", 1, 1e300 } };
	data.slices.push_back({ LLONG_MIN, LLONG_MAX, LLONG_MAX, 0, 1, sched::SliceEnd::Timer });
	data.slices.push_back({ LLONG_MAX - 1, LLONG_MIN + 1, LLONG_MAX, 1, 1, sched::SliceEnd::Park });
	data.slices.push_back({ 0, 10, LLONG_MAX, 7, 1, sched::SliceEnd::Timer }); // no such VM
	for (PlotStyle style : { PlotStyle::Normal, PlotStyle::Big }) {
		std::string svg = plotSvg(data, style);
		std::string why;
		CHECK_MESSAGE(wellNested(svg, why), why);
		CHECK(svg.find("nan") == std::string::npos);
		CHECK(svg.find("inf") == std::string::npos);
	}
}
