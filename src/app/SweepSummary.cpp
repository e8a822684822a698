#include "app/SweepSummary.h"

#include "base/Text.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <set>
#include <stdexcept>

namespace quanta {

namespace {

std::optional<double> number(const nlohmann::json &j)
{
	if (j.is_number())
		return j.get<double>();
	return std::nullopt;
}

std::map<std::string, std::optional<double>> runMetrics(const nlohmann::json &r)
{
	std::map<std::string, std::optional<double>> m;
	double sum = 0.0;
	std::size_t counted = 0;
	for (const auto &vm : r.at("vms"))
		if (auto e = number(vm.value("error_pp", nlohmann::json())); e) {
			sum += std::fabs(*e);
			++counted;
		}
	m["mean_abs_error_pp"] = counted ? std::optional(sum / static_cast<double>(counted)) : std::nullopt;
	m["jain_index"] = number(r.value("jain_index", nlohmann::json()));
	m["max_lag_quanta"] = number(r.value("max_lag_quanta", nlohmann::json()));
	m["overhead_pct"] = number(r.value("overhead_pct", nlohmann::json()));
	m["wall_ns"] = number(r.value("wall_ns", nlohmann::json()));
	for (auto [key, name] : { std::pair{ "kick_latency", "kick_p99_ns" }, std::pair{ "switch_latency", "switch_p99_ns" } }) {
		const nlohmann::json latency = r.value(key, nlohmann::json::object());
		m[name] = latency.value("count", 0) > 0 ? number(latency.value("p99_ns", nlohmann::json())) : std::nullopt;
	}
	return m;
}

std::string shortNumber(double value)
{
	return fmt::format("{:.6g}", value);
}

std::string csvField(const std::string &text)
{
	if (text.find_first_of(",\"\n") == std::string::npos)
		return text;
	std::string out = "\"";
	for (char c : text)
		out += c == '"' ? std::string("\"\"") : std::string(1, c);
	return out + "\"";
}

nlohmann::json statJson(const stats::Summary &s)
{
	if (s.n == 0)
		return { { "n", 0 }, { "mean", nullptr }, { "sd", nullptr }, { "ci95_low", nullptr }, { "ci95_high", nullptr } };
	return { { "n", s.n }, { "mean", s.mean }, { "sd", s.sd }, { "ci95_low", s.ciLow }, { "ci95_high", s.ciHigh } };
}

std::string metricTitle(const std::string &metric)
{
	if (metric == "mean_abs_error_pp")
		return "mean |share error| (pp)";
	if (metric == "jain_index")
		return "Jain's fairness index";
	return metric;
}

} // namespace

std::vector<std::pair<std::string, std::string>> runParams(const nlohmann::json &report)
{
	std::vector<std::pair<std::string, std::string>> params;
	const nlohmann::json &meta = report.value("meta", nlohmann::json::object());
	if (meta.contains("sweep") && meta["sweep"].is_object()) {
		const nlohmann::json &sweep = meta["sweep"];
		for (const auto &axis : sweep.value("axes", nlohmann::json::array()))
			params.emplace_back(axis.get<std::string>(), sweep.at("params").at(axis.get<std::string>()).get<std::string>());
		return params;
	}
	// Not from a sweep: what distinguishes runs of one experiment.
	std::string shares;
	for (const auto &vm : report.at("vms")) {
		// In steps: GCC 12 at -O3 misreports "literal" + string&& as -Wrestrict.
		if (!shares.empty())
			shares += ',';
		shares += std::to_string(vm.value("weight", 1));
	}
	params.emplace_back("policy", report.value("policy", "?"));
	params.emplace_back("quantum", fmt::format("{}ms", shortNumber(report.value("quantum_ns", 0.0) / 1e6)));
	params.emplace_back("share", shares);
	return params;
}

SweepSummary summarizeReports(const std::vector<nlohmann::json> &reports)
{
	struct Group {
		SummaryCell cell;
		std::map<std::string, std::vector<double>> values;
		std::vector<std::map<std::string, std::vector<double>>> vmValues;
		std::set<std::string> codes;
	};
	std::vector<Group> groups;
	SweepSummary summary;
	for (const nlohmann::json &r : reports) {
		if (!r.is_object() || r.value("kind", "") != "report")
			throw std::runtime_error("not a quanta report (no \"kind\": \"report\")");
		auto params = runParams(r);
		std::string label;
		for (const auto &[k, v] : params) {
			label += (label.empty() ? "" : " ") + k + "=" + v;
			if (std::find(summary.paramNames.begin(), summary.paramNames.end(), k) == summary.paramNames.end())
				summary.paramNames.push_back(k);
		}
		auto it = std::find_if(groups.begin(), groups.end(), [&](const Group &g) { return g.cell.label == label; });
		if (it == groups.end()) {
			Group g;
			g.cell.label = label;
			g.cell.params = params;
			const nlohmann::json &meta = r.value("meta", nlohmann::json::object());
			g.cell.sweepCell = meta.contains("sweep") ? meta["sweep"].value("cell", std::size_t{ 0 }) : groups.size();
			groups.push_back(std::move(g));
			it = groups.end() - 1;
		}
		Group &g = *it;
		++g.cell.runs;
		++summary.runs;
		if (!r.value("warnings", nlohmann::json::array()).empty())
			++g.cell.warnedRuns;
		for (const auto &w : r.value("warnings", nlohmann::json::array()))
			g.codes.insert(w.value("code", "?"));
		for (const auto &[name, value] : runMetrics(r))
			if (value)
				g.values[name].push_back(*value);
		const nlohmann::json &vms = r.at("vms");
		if (g.vmValues.size() < vms.size()) {
			g.vmValues.resize(vms.size());
			g.cell.vms.resize(vms.size());
		}
		for (std::size_t i = 0; i < vms.size(); ++i) {
			g.cell.vms[i].name = vms[i].value("name", "");
			g.cell.vms[i].targetShare = vms[i].value("target_share_frac", 0.0);
			for (const std::string &metric : kVmMetrics)
				if (auto v = number(vms[i].value(metric, nlohmann::json())); v)
					g.vmValues[i][metric].push_back(*v);
		}
	}
	std::stable_sort(groups.begin(), groups.end(),
			 [](const Group &a, const Group &b) { return a.cell.sweepCell < b.cell.sweepCell; });
	for (Group &g : groups) {
		for (const std::string &metric : kRunMetrics)
			g.cell.metrics[metric] = stats::summarize(g.values[metric]);
		for (std::size_t i = 0; i < g.cell.vms.size(); ++i)
			for (const std::string &metric : kVmMetrics)
				g.cell.vms[i].metrics[metric] = stats::summarize(g.vmValues[i][metric]);
		g.cell.warningCodes.assign(g.codes.begin(), g.codes.end());
		summary.cells.push_back(std::move(g.cell));
	}
	return summary;
}

std::string summaryCsv(const SweepSummary &summary)
{
	std::size_t vmCount = 0;
	for (const SummaryCell &cell : summary.cells)
		vmCount = std::max(vmCount, cell.vms.size());
	std::vector<std::string> header{ "cell" };
	header.insert(header.end(), summary.paramNames.begin(), summary.paramNames.end());
	for (const char *column : { "runs", "warned_runs", "warnings" })
		header.push_back(column);
	auto statColumns = [&](const std::string &prefix) {
		for (const char *stat : { "mean", "sd", "ci95_low", "ci95_high", "n" })
			header.push_back(prefix + "_" + stat);
	};
	for (const std::string &metric : kRunMetrics)
		statColumns(metric);
	for (std::size_t i = 0; i < vmCount; ++i) {
		header.push_back(fmt::format("vm{}_name", i));
		header.push_back(fmt::format("vm{}_target_share_frac", i));
		for (const std::string &metric : kVmMetrics)
			statColumns(fmt::format("vm{}_{}", i, metric));
	}

	std::string out;
	auto line = [&out](const std::vector<std::string> &fields) {
		// In steps: GCC 12 at -O3 misreports "literal" + string&& as -Wrestrict.
		for (std::size_t i = 0; i < fields.size(); ++i) {
			if (i)
				out += ',';
			out += csvField(fields[i]);
		}
		out += "\n";
	};
	line(header);
	for (const SummaryCell &cell : summary.cells) {
		std::vector<std::string> row{ cell.label };
		for (const std::string &name : summary.paramNames) {
			auto it = std::find_if(cell.params.begin(), cell.params.end(),
					       [&](const auto &p) { return p.first == name; });
			row.push_back(it == cell.params.end() ? "" : it->second);
		}
		row.push_back(std::to_string(cell.runs));
		row.push_back(std::to_string(cell.warnedRuns));
		std::string codes;
		for (const std::string &code : cell.warningCodes)
			codes += (codes.empty() ? "" : ";") + code;
		row.push_back(codes);
		auto statFields = [&](const stats::Summary &s) {
			if (s.n == 0) {
				row.insert(row.end(), { "", "", "", "", "0" });
				return;
			}
			row.insert(row.end(), { shortNumber(s.mean), shortNumber(s.sd), shortNumber(s.ciLow),
						shortNumber(s.ciHigh), std::to_string(s.n) });
		};
		for (const std::string &metric : kRunMetrics)
			statFields(cell.metrics.at(metric));
		for (std::size_t i = 0; i < vmCount; ++i) {
			if (i >= cell.vms.size()) {
				row.insert(row.end(), 2 + 5 * kVmMetrics.size(), "");
				continue;
			}
			row.push_back(cell.vms[i].name);
			row.push_back(shortNumber(cell.vms[i].targetShare));
			for (const std::string &metric : kVmMetrics)
				statFields(cell.vms[i].metrics.at(metric));
		}
		line(row);
	}
	return out;
}

nlohmann::json summaryJson(const SweepSummary &summary, const RunMetadata &meta)
{
	nlohmann::json cells = nlohmann::json::array();
	for (const SummaryCell &cell : summary.cells) {
		nlohmann::json params = nlohmann::json::object();
		for (const auto &[k, v] : cell.params)
			params[k] = v;
		nlohmann::json metrics = nlohmann::json::object();
		for (const auto &[name, s] : cell.metrics)
			metrics[name] = statJson(s);
		nlohmann::json vms = nlohmann::json::array();
		for (const SummaryVm &vm : cell.vms) {
			nlohmann::json vmMetrics = nlohmann::json::object();
			for (const auto &[name, s] : vm.metrics)
				vmMetrics[name] = statJson(s);
			vms.push_back({ { "name", vm.name }, { "target_share_frac", vm.targetShare }, { "metrics", vmMetrics } });
		}
		cells.push_back({ { "cell", cell.label },
				  { "params", params },
				  { "runs", cell.runs },
				  { "warned_runs", cell.warnedRuns },
				  { "warnings", cell.warningCodes },
				  { "metrics", metrics },
				  { "vms", vms } });
	}
	return { { "schema_version", kSchemaVersion },
		 { "kind", "summary" },
		 { "meta", metadataJson(meta) },
		 { "runs", summary.runs },
		 { "cells", cells } };
}

std::string policyComparisonSvg(const SweepSummary &summary, const std::string &metric)
{
	// Groups: the other parameters; series: the policies, in first-seen order.
	std::vector<std::string> policies;
	std::vector<std::string> groups;
	struct Point {
		std::size_t group, policy;
		stats::Summary s;
	};
	std::vector<Point> points;
	for (const SummaryCell &cell : summary.cells) {
		std::string policy;
		std::string rest;
		for (const auto &[k, v] : cell.params) {
			if (k == "policy")
				policy = v;
			else
				rest += (rest.empty() ? "" : " ") + k + "=" + v;
		}
		auto index = [](std::vector<std::string> &list, const std::string &item) {
			auto it = std::find(list.begin(), list.end(), item);
			if (it != list.end())
				return static_cast<std::size_t>(it - list.begin());
			list.push_back(item);
			return list.size() - 1;
		};
		auto m = cell.metrics.find(metric);
		if (policy.empty() || m == cell.metrics.end() || m->second.n == 0)
			continue;
		std::size_t g = index(groups, rest.empty() ? "all runs" : rest);
		points.push_back({ g, index(policies, policy), m->second });
	}
	if (policies.size() < 2)
		return "";

	double top = 0.0;
	std::size_t maxRuns = 0;
	for (const Point &p : points) {
		top = std::max(top, std::max(p.s.ciHigh, p.s.mean));
		maxRuns = std::max(maxRuns, p.s.n);
	}
	// Round ticks: a step of 1, 2 or 5 times a power of ten, five or fewer.
	top = top > 0 ? top : 1.0;
	double step = std::pow(10.0, std::floor(std::log10(top / 5.0)));
	for (double factor : { 1.0, 2.0, 5.0, 10.0 })
		if (top / (step * factor) <= 5.0) {
			step *= factor;
			break;
		}
	const int ticks = static_cast<int>(std::ceil(top / step - 1e-9));
	top = step * ticks;
	const double left = 70, right = 20, plotTop = 60, plotHeight = 300;
	double groupWidth = std::max(110.0, 28.0 * static_cast<double>(policies.size()) + 40.0);
	groupWidth = std::max(groupWidth, 560.0 / static_cast<double>(groups.size()));
	const double width = left + right + groupWidth * static_cast<double>(groups.size());
	const double height = plotTop + plotHeight + 120;
	const char *colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b" };
	auto y = [&](double v) { return plotTop + plotHeight * (1.0 - v / top); };

	std::string svg = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
				      "width=\"{0:.0f}\" height=\"{1:.0f}\" font-family=\"sans-serif\" font-size=\"12\">\n"
				      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
				      width, height);
	const std::string title = metricTitle(metric);
	svg += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{} per policy</text>\n", left,
			   escapeXml(title));
	svg += fmt::format("<text x=\"{}\" y=\"40\">mean of up to {} runs per cell; error bars: 95% confidence interval "
			   "(Student t)</text>\n",
			   left, maxRuns);
	// Axis, ticks and grid.
	for (int i = 0; i <= ticks; ++i) {
		double v = step * i;
		svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{:.0f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", left, y(v),
				   width - right, y(v));
		svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 6, y(v) + 4,
				   fmt::format("{:g}", v));
	}
	svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", left, plotTop,
			   plotTop + plotHeight);
	svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2:.0f}\" y2=\"{1}\" stroke=\"black\"/>\n", left,
			   plotTop + plotHeight, width - right);
	svg += fmt::format("<text transform=\"translate(16 {:.0f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
			   plotTop + plotHeight / 2, escapeXml(title));
	// Group labels: one parameter per line.
	for (std::size_t g = 0; g < groups.size(); ++g) {
		double cx = left + groupWidth * (static_cast<double>(g) + 0.5);
		std::size_t start = 0;
		for (int lineNo = 0; start <= groups[g].size(); ++lineNo) {
			std::size_t space = groups[g].find(' ', start);
			std::string part = groups[g].substr(start, space - start);
			svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text>\n", cx,
					   plotTop + plotHeight + 18 + 15 * lineNo, escapeXml(part));
			if (space == std::string::npos)
				break;
			start = space + 1;
		}
	}
	// Bars with error bars.
	const double barWidth = std::min(48.0, (groupWidth - 40.0) / static_cast<double>(policies.size()));
	for (const Point &p : points) {
		double groupLeft = left + groupWidth * static_cast<double>(p.group);
		double span = barWidth * static_cast<double>(policies.size());
		double x = groupLeft + (groupWidth - span) / 2 + barWidth * static_cast<double>(p.policy);
		const char *color = colors[p.policy % std::size(colors)];
		double mean = std::max(0.0, p.s.mean);
		svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
				   "fill-opacity=\"0.75\"><title>{} {}: {:.4g} (95% CI {:.4g} to {:.4g}, n={})</title></rect>\n",
				   x + 2, y(mean), barWidth - 4, y(0) - y(mean), color, escapeXml(policies[p.policy]),
				   escapeXml(groups[p.group]), p.s.mean, p.s.ciLow, p.s.ciHigh, p.s.n);
		double cx = x + barWidth / 2;
		double low = y(std::max(0.0, p.s.ciLow));
		double high = y(p.s.ciHigh);
		svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"black\"/>\n", cx,
				   low, high);
		for (double end : { low, high })
			svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"black\"/>\n",
					   cx - 5, end, cx + 5, end);
	}
	// Legend.
	double lx = left;
	double ly = height - 22;
	for (std::size_t i = 0; i < policies.size(); ++i) {
		svg += fmt::format("<rect x=\"{:.0f}\" y=\"{:.0f}\" width=\"12\" height=\"12\" fill=\"{}\" fill-opacity=\"0.75\"/>"
				   "<text x=\"{:.0f}\" y=\"{:.0f}\">{}</text>\n",
				   lx, ly - 10, colors[i % std::size(colors)], lx + 16, ly, escapeXml(policies[i]));
		lx += 30 + 8.0 * static_cast<double>(policies[i].size());
	}
	svg += "</svg>\n";
	return svg;
}

} // namespace quanta
