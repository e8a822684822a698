// The SVG plot: well formed, self-contained, one curve and one target line
// per VM. (tests/trace/plot_svg.py parses it with a real XML parser and
// renders it with rsvg-convert.)
#include <doctest/doctest.h>

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
	CHECK(svg.find("Timeline: which VM ran when") != std::string::npos);
	CHECK(svg.find("Close-up: the first 30 quanta") != std::string::npos);
	CHECK(svg.find("Neo: target 70%, achieved 70.00%") != std::string::npos);
	CHECK(svg.find("Morpheus target 30%") != std::string::npos);
	CHECK(svg.find("time since start (s)") != std::string::npos);
	CHECK(svg.find("time since start (ms)") != std::string::npos);
	CHECK(svg.find("share of guest time so far") != std::string::npos);
	CHECK(svg.find("policy frac, quantum 10 ms, 300 slices over 3.00 s") != std::string::npos);
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
