// The summary of many runs: run reports (--stats-json files, however they
// were produced) grouped into cells, each metric as mean, sample standard
// deviation and 95% confidence interval (SweepStats.h), written as
// summary.csv (one row per cell) and summary.json, and a comparison plot
// of the policies when the runs differ in policy.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/ReportMeta.h"
#include "app/SweepStats.h"

namespace quanta {

// Metrics of one run (names carry units, as in the report); a metric
// missing from a run (a null jain_index) is left out of that cell's stats.
inline const std::vector<std::string> kRunMetrics = { "mean_abs_error_pp", "jain_index", "max_lag_quanta",
						      "overhead_pct", "kick_p99_ns", "switch_p99_ns",
						      "wall_ns" };
inline const std::vector<std::string> kVmMetrics = { "achieved_share_frac", "error_pp", "max_lag_quanta" };

struct SummaryVm {
	std::string name;
	double targetShare = 0.0;
	std::map<std::string, stats::Summary> metrics;
};

struct SummaryCell {
	std::string label;                                       // "policy=frac quantum=10ms"
	std::vector<std::pair<std::string, std::string>> params; // in sweep order
	std::size_t sweepCell = 0;                               // index in the sweep, for ordering
	std::size_t runs = 0;
	std::size_t warnedRuns = 0;            // runs with any noise warning
	std::vector<std::string> warningCodes; // every code seen, sorted
	std::map<std::string, stats::Summary> metrics;
	std::vector<SummaryVm> vms;
};

struct SweepSummary {
	std::vector<std::string> paramNames; // union over cells, first-seen order
	std::vector<SummaryCell> cells;
	std::size_t runs = 0;
};

// The cell of a run: its sweep parameters (meta.sweep.params) when quanta
// sweep made it, otherwise policy, quantum and shares read from the report.
std::vector<std::pair<std::string, std::string>> runParams(const nlohmann::json &report);

// Groups reports into cells; throws std::runtime_error naming a report
// that is not one (no kind "report").
SweepSummary summarizeReports(const std::vector<nlohmann::json> &reports);

std::string summaryCsv(const SweepSummary &summary);
nlohmann::json summaryJson(const SweepSummary &summary, const RunMetadata &meta);

// When cells differ in "policy": the metric per policy with 95% error
// bars, one group per combination of the other parameters. Empty string
// when there is nothing to compare.
std::string policyComparisonSvg(const SweepSummary &summary, const std::string &metric = "mean_abs_error_pp");

} // namespace quanta
