// The exit table and slice overruns, fed without KVM.
#include <doctest/doctest.h>
#include <linux/kvm.h>

#include "app/ReportExits.h"

using namespace quanta;

namespace {

RunReport emptyReport()
{
	RunReport report{};
	report.policy = "stride";
	report.quantumNs = 10'000'000;
	return report;
}

} // namespace

TEST_CASE("exits are counted and timed per reason and per port")
{
	ExitTable t;
	t.addExit(KVM_EXIT_IO, PortKey{ 0x10, true }, "work", 2000);
	t.addExit(KVM_EXIT_IO, PortKey{ 0x10, true }, "work", 4000);
	t.addExit(KVM_EXIT_IO, PortKey{ 0xe9, false }, "serial", 1000);
	t.addExit(KVM_EXIT_HLT, std::nullopt, "", 500);
	t.addExit(KVM_EXIT_IO, PortKey{ 0x99, true }, "", -3); // a clock step back counts as 0
	CHECK(t.exits() == 5);
	CHECK(t.totalNs() == 7500);
	const ExitTime &io = t.byReason().at(KVM_EXIT_IO);
	CHECK(io.count == 4);
	CHECK(io.totalNs == 7000);
	CHECK(io.minNs == 0);
	CHECK(io.maxNs == 4000);
	CHECK(io.avgNs() == 1750);
	const ExitTime &hlt = t.byReason().at(KVM_EXIT_HLT);
	CHECK(hlt.minNs == 500);
	CHECK(hlt.maxNs == 500);
	const PortRow &out10 = t.byPort().at({ 0x10, true });
	CHECK(out10.time.count == 2);
	CHECK(out10.time.minNs == 2000);
	CHECK(out10.time.avgNs() == 3000);
	CHECK(out10.device == "work");
	CHECK(t.byPort().count({ 0x10, false }) == 0); // IN and OUT apart

	nlohmann::json j = exitTableJson(t);
	CHECK(j["exits"] == 5);
	CHECK(j["time_total_ns"] == 7500);
	REQUIRE(j["by_reason"].size() == 2);
	// Keyed by KVM_EXIT_*: KVM_EXIT_IO (2) before KVM_EXIT_HLT (5).
	CHECK(j["by_reason"][0]["reason"] == "io");
	CHECK(j["by_reason"][0]["share_pct"].get<double>() == doctest::Approx(80.0));
	CHECK(j["by_reason"][0]["time_share_pct"].get<double>() == doctest::Approx(100.0 * 7000 / 7500));
	CHECK(j["by_reason"][1]["reason"] == "hlt");
	CHECK(j["by_reason"][1]["time_avg_ns"] == 500);
	REQUIRE(j["by_port"].size() == 3);
	CHECK(j["by_port"][0]["port"] == "0x10");
	CHECK(j["by_port"][0]["direction"] == "out");
	CHECK(j["by_port"][0]["device"] == "work");
	CHECK(j["by_port"][0]["share_pct"].get<double>() == doctest::Approx(40.0));
	CHECK(j["by_port"][1]["port"] == "0x99");

	std::string text = formatExitTable(t);
	// perf kvm stat's order: most samples first; times in us.
	CHECK(text.find("io                               4   80.00%  93.33%         7.0      0.00      1.75      4.00") !=
	      std::string::npos);
	CHECK(text.find("io ") < text.find("hlt "));
	CHECK(text.find("0x10 out (work)                  2   40.00%") != std::string::npos);
	CHECK(text.find("0x10 out (work)") < text.find("0xe9 in (serial)"));
	CHECK(text.find("0x99 out ") != std::string::npos);
}

TEST_CASE("an empty exit table has no rows and no division by zero")
{
	ExitTable t;
	nlohmann::json j = exitTableJson(t);
	CHECK(j["exits"] == 0);
	CHECK(j["by_reason"].empty());
	CHECK(j["by_port"].empty());
	CHECK(formatExitTable(t).find("port") == std::string::npos);
}

TEST_CASE("slices over 1.5x their budget are counted, p90 by nearest rank")
{
	SliceOverrunCounter c;
	for (int i = 0; i < 8; ++i)
		c.addSlice(10'000'000, Nanos{ 10'000'000 }); // on time
	c.addSlice(16'000'000, Nanos{ 10'000'000 });         // 1.6 budgets: over
	c.addSlice(30'000'000, Nanos{ 10'000'000 });         // 3 budgets: over
	c.addSlice(5'000'000, std::nullopt);                 // no timer: not counted
	c.addSlice(15'000'000, Nanos{ 10'000'000 });         // exactly 1.5: not over
	SliceOverrun o = c.overrun();
	CHECK(o.timedSlices == 10 + 1);
	CHECK(o.overBudget == 2);
	// 11 ratios sorted: eight 1.0, 1.5, 1.6, 3.0; rank ceil(9.9) = 10: 1.6.
	CHECK(o.p90LengthQuanta == doctest::Approx(1.6));

	RunReport report = emptyReport();
	addSliceOverrun(report, o);
	REQUIRE(report.warnings.size() == 1);
	CHECK(report.warnings[0].code == "slice_overrun");
	CHECK(report.warnings[0].message.find("2 of 11 timed slices (18%) ran over 1.5x their budget") !=
	      std::string::npos);
	CHECK(report.warnings[0].message.find("p90 slice length 1.60x") != std::string::npos);
	REQUIRE(report.sliceOverrun);
	CHECK(report.sliceOverrun->overBudget == 2);
	std::string table = formatReportTable(report);
	CHECK(table.find("slice length against the timer: p90 1.60x, 2 of 11 timed slices over 1.5x") !=
	      std::string::npos);
	CHECK(table.find("warning: 2 of 11 timed slices") != std::string::npos);
}

TEST_CASE("few overruns or no timed slices give no warning")
{
	RunReport quiet = emptyReport();
	addSliceOverrun(quiet, SliceOverrun{ 10, 1, 1.0 }); // 10%: not over 10%
	CHECK(quiet.warnings.empty());

	RunReport lone = emptyReport();
	addSliceOverrun(lone, SliceOverrun{});
	CHECK(lone.warnings.empty());
	CHECK(formatReportTable(lone).find("slice length against the timer") == std::string::npos);
}

TEST_CASE("the observer side: budgets come from the slice start, retries are not counted twice")
{
	SliceOverrunCounter c;
	c.sliceStarted({ 0, 0, "a", sched::Policy::Stride, Nanos{ 1'000'000 } });
	c.sliceEnded({ 0, 2'000'000, 2'000'000, 0, 1, sched::SliceEnd::Timer }, "a");
	c.sliceStarted({ 2'000'000, 1, "b", sched::Policy::Stride, std::nullopt }); // lone: no timer
	c.sliceEnded({ 2'000'000, 9'000'000, 7'000'000, 1, 1, sched::SliceEnd::Timer }, "b");
	SliceOverrun o = c.overrun();
	CHECK(o.timedSlices == 1);
	CHECK(o.overBudget == 1);
	CHECK(o.p90LengthQuanta == doctest::Approx(2.0));

	ExitTable t;
	ExitOutcome outcome{};
	trace::ExitEvent io{ 0, monotonicNow(), 0, KVM_EXIT_IO, 0xe9, true, 1 };
	t.exitHandled({ io, false, "a", "serial", 0, outcome });
	t.exitHandled({ io, true, "a", "serial", 0, outcome }); // the parked exit completed
	CHECK(t.exits() == 1);
	REQUIRE(t.byPort().count({ 0xe9, true }) == 1);
	CHECK(t.byPort().at({ 0xe9, true }).device == "serial");
	CHECK(t.byPort().at({ 0xe9, true }).time.minNs >= 0);
}
