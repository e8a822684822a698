// Sweep files (cells, order, values) and the summary of run reports.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app/Options.h"
#include "app/Sweep.h"
#include "app/SweepSummary.h"
#include "base/Error.h"

using namespace quanta;

namespace {

std::string writeTemp(const std::string &text)
{
	std::string path = (std::filesystem::temp_directory_path() / "quanta-test-sweep.toml").string();
	std::ofstream(path) << text;
	return path;
}

nlohmann::json report(const std::string &policy, double errA, std::optional<double> jain, bool warned = false,
		      std::optional<std::size_t> cell = std::nullopt)
{
	nlohmann::json meta = nlohmann::json::object();
	if (cell)
		meta["sweep"] = { { "name", "s" },
				  { "run", 0 },
				  { "runs", 4 },
				  { "cell", *cell },
				  { "repeat", 0 },
				  { "params", { { "policy", policy }, { "quantum", "10ms" } } },
				  { "axes", { "quantum", "policy" } } };
	return { { "schema_version", 1 },
		 { "kind", "report" },
		 { "meta", meta },
		 { "policy", policy },
		 { "quantum_ns", 10'000'000 },
		 { "wall_ns", 1'000'000'000 },
		 { "overhead_pct", 1.0 },
		 { "max_lag_quanta", 2.0 },
		 { "jain_index", jain ? nlohmann::json(*jain) : nlohmann::json(nullptr) },
		 { "kick_latency", { { "count", 0 }, { "p99_ns", 0 } } },
		 { "switch_latency", { { "count", 3 }, { "p99_ns", 5000 } } },
		 { "warnings", warned ? nlohmann::json::array({ { { "code", "loaded_host" }, { "message", "m" } } })
				      : nlohmann::json::array() },
		 { "vms",
		   { { { "name", "Neo" }, { "weight", 70 }, { "target_share_frac", 0.7 }, { "achieved_share_frac", 0.7 + errA / 100 }, { "error_pp", errA }, { "max_lag_quanta", 1.0 } },
		     { { "name", "Morpheus" }, { "weight", 30 }, { "target_share_frac", 0.3 }, { "achieved_share_frac", 0.3 - errA / 100 }, { "error_pp", -errA }, { "max_lag_quanta", 1.0 } } } } };
}

} // namespace

TEST_SUITE("sweep")
{
	TEST_CASE("cells are the cartesian product in the file's order")
	{
		SweepSpec spec = readSweep(writeTemp("policy = \"stride\"\n"
						     "[[vm]]\nimage = \"a.elf\"\n"
						     "[sweep]\n"
						     "share = [[50, 50], [70, 30], [90, 10]]\n"
						     "quantum = [\"1ms\", \"10ms\"]\n"
						     "policy = [\"stride\", \"frac\"]\n"
						     "repeat = 5\n"));
		REQUIRE(spec.axes.size() == 3);
		CHECK(spec.axes[0].key == "share");
		CHECK(spec.axes[1].key == "quantum");
		CHECK(spec.axes[2].key == "policy");
		CHECK(spec.cells() == 12);
		CHECK(spec.runs() == 60);
		CHECK(spec.repeat == 5);
		CHECK_FALSE(spec.fileHasSeed);
		// The last key varies fastest.
		auto first = spec.cellParams(0);
		CHECK(first[0].second == "50,50");
		CHECK(first[1].second == "1ms");
		CHECK(first[2].second == "stride");
		auto second = spec.cellParams(1);
		CHECK(second[2].second == "frac");
		auto last = spec.cellParams(11);
		CHECK(last[0].second == "90,10");
		CHECK(last[1].second == "10ms");
		CHECK(last[2].second == "frac");
		CHECK(sweepRunFile(7) == "runs/run-0007.json");
	}

	TEST_CASE("one value, a single share list, no sweep table")
	{
		SweepSpec spec = readSweep(writeTemp("seed = 3\n[sweep]\nquantum = \"5ms\"\nshare = [1, 2]\n"));
		CHECK(spec.cells() == 1);
		CHECK(spec.axes[0].labels == std::vector<std::string>{ "5ms" });
		CHECK(spec.axes[1].labels == std::vector<std::string>{ "1,2" });
		CHECK(spec.fileHasSeed);
		CHECK(readSweep(writeTemp("policy = \"rr\"\n")).runs() == 1);
	}

	TEST_CASE("bad sweep tables are usage errors naming the line")
	{
		CHECK_THROWS_WITH_AS(readSweep(writeTemp("[sweep]\nrepeat = 0\n")), doctest::Contains(":2: 'sweep.repeat'"),
				     UsageError);
		CHECK_THROWS_WITH_AS(readSweep(writeTemp("[sweep]\nquantum = []\n")), doctest::Contains("no values"),
				     UsageError);
		CHECK_THROWS_WITH_AS(readSweep(writeTemp("[sweep]\nquantum = [{ a = 1 }]\n")),
				     doctest::Contains("sweep values are"), UsageError);
		CHECK(readSweep(writeTemp("[sweep]\nprefix = [true, false]\n")).axes[0].labels ==
		      std::vector<std::string>{ "true", "false" });
		CHECK_THROWS_WITH_AS(readSweep(writeTemp("sweep = 3\n")), doctest::Contains("must be a table"), UsageError);
	}

	TEST_CASE("the shipped sweep: 18 cells of 5 runs, each a valid run")
	{
		SweepSpec spec = readSweep(std::string(QUANTA_SOURCE_ROOT) + "/experiments/sweep-shares.toml");
		CHECK(spec.cells() == 18);
		CHECK(spec.runs() == 90);
		for (std::size_t cell = 0; cell < spec.cells(); ++cell) {
			CAPTURE(cell);
			Options options = sweepCellOptions(spec, cell);
			auto params = spec.cellParams(cell);
			CHECK(std::string(sched::policyName(options.policy)) == params[2].second);
			CHECK(fmt::format("{},{}", options.shares[0], options.shares[1]) == params[0].second);
		}
		Options last = sweepCellOptions(spec, 17);
		CHECK(last.quantum == 50'000'000);
		CHECK(last.duration == 1'000'000'000);
		CHECK(last.guests.size() == 2);
	}

	TEST_CASE("a cell with a bad value names the file and the cell")
	{
		SweepSpec spec = readSweep(writeTemp("[[vm]]\nimage = \"a.elf\"\n[sweep]\nquantum = [\"1ms\", \"fast\"]\n"));
		CHECK_NOTHROW(sweepCellOptions(spec, 0));
		CHECK_THROWS_WITH_AS(sweepCellOptions(spec, 1), doctest::Contains("(sweep cell quantum=fast)"), UsageError);
	}

	TEST_CASE("reports are grouped into cells with mean and confidence interval")
	{
		// Cell 1 (frac) listed first in the input; the summary keeps sweep order.
		std::vector<nlohmann::json> runs{ report("frac", 2.0, 0.9, false, 1), report("stride", 1.0, 0.99, true, 0),
						  report("stride", 2.0, std::nullopt, false, 0),
						  report("stride", 3.0, 0.97, false, 0) };
		SweepSummary s = summarizeReports(runs);
		CHECK(s.runs == 4);
		REQUIRE(s.cells.size() == 2);
		const SummaryCell &stride = s.cells[0];
		CHECK(stride.label == "quantum=10ms policy=stride");
		CHECK(stride.runs == 3);
		CHECK(stride.warnedRuns == 1);
		CHECK(stride.warningCodes == std::vector<std::string>{ "loaded_host" });
		const stats::Summary &err = stride.metrics.at("mean_abs_error_pp");
		CHECK(err.n == 3);
		CHECK(err.mean == doctest::Approx(2.0));
		CHECK(err.sd == doctest::Approx(1.0));
		CHECK(err.ciHalfWidth == doctest::Approx(4.302653 / std::sqrt(3.0)).epsilon(1e-6));
		CHECK(stride.metrics.at("jain_index").n == 2);  // the null one is left out
		CHECK(stride.metrics.at("kick_p99_ns").n == 0); // no kicks
		CHECK(stride.metrics.at("switch_p99_ns").mean == doctest::Approx(5000));
		REQUIRE(stride.vms.size() == 2);
		CHECK(stride.vms[1].name == "Morpheus");
		CHECK(stride.vms[1].metrics.at("error_pp").mean == doctest::Approx(-2.0));
		CHECK(s.paramNames == std::vector<std::string>{ "quantum", "policy" });
	}

	TEST_CASE("reports not made by a sweep are grouped by policy, quantum and shares")
	{
		std::vector<nlohmann::json> runs{ report("stride", 1.0, 1.0), report("stride", 3.0, 1.0), report("rr", 1.0, 1.0) };
		SweepSummary s = summarizeReports(runs);
		REQUIRE(s.cells.size() == 2);
		CHECK(s.cells[0].label == "policy=stride quantum=10ms share=70,30");
		CHECK(s.cells[0].runs == 2);
		CHECK_THROWS(summarizeReports({ nlohmann::json{ { "kind", "trace" } } }));
	}

	TEST_CASE("summary.csv: one row per cell, quoted where needed")
	{
		SweepSummary s = summarizeReports({ report("stride", 1.0, 1.0), report("stride", 3.0, 1.0) });
		std::string csv = summaryCsv(s);
		std::string header = csv.substr(0, csv.find('\n'));
		CHECK(header.rfind("cell,policy,quantum,share,runs,warned_runs,warnings,mean_abs_error_pp_mean,", 0) == 0);
		CHECK(header.find("vm1_error_pp_ci95_high") != std::string::npos);
		std::string row = csv.substr(csv.find('\n') + 1);
		CHECK(row.rfind("\"policy=stride quantum=10ms share=70,30\",stride,10ms,\"70,30\",2,0,,2,", 0) == 0);
		CHECK(std::count(csv.begin(), csv.end(), '\n') == 2);
	}

	TEST_CASE("the policy comparison needs two policies")
	{
		SweepSummary one = summarizeReports({ report("stride", 1.0, 1.0), report("stride", 3.0, 1.0) });
		CHECK(policyComparisonSvg(one).empty());
		SweepSummary two = summarizeReports({ report("stride", 1.0, 1.0), report("stride", 3.0, 1.0),
						      report("frac", 1.0, 1.0), report("frac", 2.0, 1.0) });
		std::string svg = policyComparisonSvg(two);
		CHECK(svg.rfind("<svg", 0) == 0);
		CHECK(svg.find(">stride<") != std::string::npos);
		CHECK(svg.find(">frac<") != std::string::npos);
		CHECK(svg.find("95% confidence interval") != std::string::npos);
	}
}
