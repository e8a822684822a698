// Trace recording and files: the trace of a run must add up to the
// report's totals, and survive the trip through its own file formats.
#include <doctest/doctest.h>

#include <linux/kvm.h>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/Error.h"
#include "sched/Scheduler.h"
#include "trace/ChromeTrace.h"
#include "trace/Trace.h"

using namespace quanta;
using namespace quanta::trace;

namespace {

constexpr Nanos kQuantum = 10'000'000;

// A synthetic run driven exactly as RunLoop drives the scheduler and the
// tracer: pick, a few KVM_RUNs charged one by one, endSlice, slice event.
// Guests sometimes yield or park (and are woken a while later), and the
// host adds a little time between runs that is not charged.
struct SyntheticRun {
	sched::Scheduler sched;
	Tracer tracer;
	Nanos now = 1'000'000'000; // the origin is not 0 on purpose
	Nanos origin = now;

	SyntheticRun(sched::Policy policy, std::vector<std::uint64_t> weights, Level level)
		: sched(policy, kQuantum, weights, 1'000'000'000), tracer(level, 16)
	{
	}

	void run(int slices, unsigned seed)
	{
		std::mt19937 random(seed);
		std::vector<Nanos> parkedUntil(sched.size(), 0);
		for (int n = 0; n < slices; ++n) {
			for (std::size_t vm = 0; vm < sched.size(); ++vm)
				if (sched.state(vm) == sched::VmState::Parked && now >= parkedUntil[vm])
					sched.wake(vm, now);
			auto pick = sched.pickNext(now);
			if (!pick) {
				now += kQuantum; // idle
				continue;
			}
			Nanos start = now;
			Nanos ran = 0;
			std::uint32_t runs = 0;
			sched::SliceEnd why = sched::SliceEnd::Timer;
			Nanos budget = pick->budget.value_or(kQuantum);
			while (ran < budget) {
				Nanos t0 = now + 2'000; // host work before entry
				Nanos burst = 1'000 + random() % 3'000'000;
				Nanos exit = t0 + burst;
				sched.charge(pick->vm, burst);
				if (tracer.wantsExits())
					tracer.exit({ t0, exit, static_cast<std::uint32_t>(pick->vm), KVM_EXIT_IO, 0x10, true, 2 });
				ran += burst;
				++runs;
				now = exit + 1'500; // exit handling
				unsigned dice = random() % 40;
				if (dice == 0) {
					why = sched::SliceEnd::Yield;
					break;
				}
				if (dice == 1) {
					why = sched::SliceEnd::Park;
					parkedUntil[pick->vm] = now + 25'000'000;
					break;
				}
			}
			now += 3'000;
			sched.endSlice(pick->vm, why, now);
			tracer.slice({ start, now, ran, static_cast<std::uint32_t>(pick->vm), runs, why });
		}
		TraceData &data = tracer.data();
		data.origin = origin;
		data.wall = now - origin;
		data.policy = std::string(sched::policyName(sched.policy()));
		data.quantum = kQuantum;
		for (std::size_t vm = 0; vm < sched.size(); ++vm)
			data.vms.push_back({ vm == 0 ? "Neo" : vm == 1 ? "Morpheus"
								       : "vm\"" + std::to_string(vm),
					     sched.weight(vm), 0.5 });
	}
};

void checkTotalsMatch(const SyntheticRun &run, const TraceData &data)
{
	std::vector<VmTotals> totals = totalsByVm(data);
	REQUIRE(totals.size() == run.sched.size());
	for (std::size_t vm = 0; vm < run.sched.size(); ++vm) {
		sched::VmStats stats = run.sched.stats(vm, run.now);
		CAPTURE(vm);
		CHECK(totals[vm].slices == stats.slices);
		CHECK(totals[vm].ran == stats.ranNs);
	}
}

std::size_t countLines(const std::string &text, const std::string &prefix)
{
	std::istringstream in(text);
	std::size_t n = 0;
	for (std::string line; std::getline(in, line);)
		n += line.rfind(prefix, 0) == 0;
	return n;
}

} // namespace

TEST_CASE("the trace's slices add up to the scheduler's totals (what the report prints)")
{
	for (sched::Policy policy : { sched::Policy::Stride, sched::Policy::Fractional, sched::Policy::RoundRobin }) {
		SyntheticRun run(policy, { 70, 30, 5 }, Level::Slices);
		run.run(2'000, 7);
		CAPTURE(sched::policyName(policy));
		checkTotalsMatch(run, run.tracer.data());
		CHECK(run.tracer.data().exits.empty()); // level slices: the loop records none
	}
}

TEST_CASE("Chrome trace JSON round trip keeps every nanosecond")
{
	SyntheticRun run(sched::Policy::Stride, { 70, 30 }, Level::Exits);
	run.run(300, 11);
	const TraceData &original = run.tracer.data();
	std::string json = chromeTraceJson(original);
	TraceData back = readChromeTrace(json);

	CHECK(back.policy == "stride");
	CHECK(back.quantum == kQuantum);
	CHECK(back.wall == original.wall);
	CHECK(back.origin == 0); // times come back relative to the start
	REQUIRE(back.vms.size() == 2);
	CHECK(back.vms[0].name == "Neo");
	CHECK(back.vms[0].weight == 70);
	REQUIRE(back.slices.size() == original.slices.size());
	for (std::size_t i = 0; i < back.slices.size(); ++i) {
		const SliceEvent &a = original.slices[i];
		const SliceEvent &b = back.slices[i];
		CHECK(b.start == a.start - original.origin);
		CHECK(b.end == a.end - original.origin);
		CHECK(b.ran == a.ran);
		CHECK(b.vm == a.vm);
		CHECK(b.runs == a.runs);
		CHECK(b.why == a.why);
	}
	REQUIRE(back.exits.size() == original.exits.size());
	CHECK(back.exits[5].enter == original.exits[5].enter - original.origin);
	CHECK(back.exits[5].port == 0x10);
	CHECK(back.exits[5].out);
	checkTotalsMatch(run, back);
}

TEST_CASE("Chrome trace layout: thread names, complete events, nested exits, share counter")
{
	SyntheticRun run(sched::Policy::Fractional, { 70, 30 }, Level::Exits);
	run.run(40, 3);
	std::string json = chromeTraceJson(run.tracer.data());
	CHECK(json.find(R"({"ph":"M","name":"thread_name","pid":1,"tid":1,"args":{"name":"Neo"}})") != std::string::npos);
	CHECK(json.find(R"("args":{"name":"Morpheus"})") != std::string::npos);
	CHECK(json.find(R"("ph":"X","cat":"slice","name":"Neo")") != std::string::npos);
	CHECK(json.find(R"("ph":"X","cat":"exit","name":"io out 0x10")") != std::string::npos);
	CHECK(json.find(R"("ph":"C","name":"share")") != std::string::npos);
	// A slice's exits follow it: the first event after the metadata is a slice.
	std::size_t firstSlice = json.find(R"("cat":"slice")");
	std::size_t firstExit = json.find(R"("cat":"exit")");
	CHECK(firstSlice < firstExit);
	CHECK(countLines(json, R"({"ph":"X","cat":"slice")") == run.tracer.data().slices.size());
	CHECK(countLines(json, R"({"ph":"X","cat":"exit")") == run.tracer.data().exits.size());
}

TEST_CASE("CSV has one row per slice and exit, and quotes awkward names")
{
	SyntheticRun run(sched::Policy::RoundRobin, { 1, 1, 1 }, Level::Exits);
	run.run(50, 5);
	std::string csv = traceCsv(run.tracer.data());
	CHECK(csv.rfind("type,vm,name,start_ns,end_ns,ran_ns,reason,runs,port,size\n", 0) == 0);
	CHECK(countLines(csv, "slice,") == run.tracer.data().slices.size());
	CHECK(countLines(csv, "exit,") == run.tracer.data().exits.size());
	CHECK(csv.find(",\"vm\"\"2\",") != std::string::npos); // vm"2 quoted, quote doubled
	CHECK(csv.find(",io out,,0x10,2\n") != std::string::npos);
}

TEST_CASE("reading a file that is not a quanta trace fails with one line")
{
	CHECK_THROWS_AS(readChromeTrace("not json"), UsageError);
	CHECK_THROWS_AS(readChromeTrace(R"({"traceEvents":[]})"), UsageError);
	CHECK_THROWS_AS(readChromeTrace(R"({"quanta":{"vms":[]},"traceEvents":[{"ph":"X","cat":"slice","tid":1,"ts":0,"dur":1,"args":{}}]})"),
			UsageError);
	TraceData empty = readChromeTrace(R"({"quanta":{"vms":[{"name":"a"}]},"traceEvents":[]})");
	CHECK(empty.vms.size() == 1);
	CHECK(empty.slices.empty());
}

TEST_CASE("exit events beyond the cap are counted, not kept")
{
	Tracer tracer(Level::Exits, 4);
	CHECK(tracer.wantsExits());
	CHECK(tracer.data().exits.capacity() >= Tracer::kMaxExitEvents); // never reallocates mid-run
	for (std::size_t i = 0; i < Tracer::kMaxExitEvents + 10; ++i)
		tracer.exit({ 0, 1, 0, KVM_EXIT_HLT, 0, false, 0 });
	CHECK(tracer.data().exits.size() == Tracer::kMaxExitEvents);
	CHECK(tracer.data().droppedExits == 10);
	CHECK_FALSE(Tracer(Level::Slices, 4).wantsExits());
}

TEST_CASE("slice vector sized from the duration")
{
	CHECK(expectedSlices(std::nullopt, kQuantum, 2) == 1u << 16);
	CHECK(expectedSlices(Nanos{ 3'000'000'000 }, kQuantum, 2) >= 300);
	CHECK(expectedSlices(Nanos{ 3'000'000'000 }, kQuantum, 2) < 1000);
	CHECK(expectedSlices(Nanos{ 1'000'000'000'000'000 }, 1000, 2) == 1u << 22);
}

TEST_CASE("exit names")
{
	CHECK(exitName({ 0, 0, 0, KVM_EXIT_IO, 0xe9, false, 1 }) == "io in 0xe9");
	CHECK(exitName({ 0, 0, 0, KVM_EXIT_INTR, 0, false, 0 }) == "intr");
	CHECK(exitReasonName(KVM_EXIT_HLT) == "hlt");
	CHECK(exitReasonName(999) == "exit 999");
	CHECK(parseLevel("exits") == Level::Exits);
	CHECK_FALSE(parseLevel("all"));
}

TEST_CASE("a trace file with huge or out-of-range numbers is refused or saturated, never overflowed")
{
	auto trace = [](const std::string &meta, const std::string &event) {
		return R"({"quanta":{"vms":[{"name":"a"}])" + meta + R"(},"traceEvents":[)" + event + "]}";
	};
	const std::string slice = R"({"ph":"X","cat":"slice","tid":1,"ts":0,"dur":1,"args":{"end":"timer"}})";
	CHECK_THROWS_AS(readChromeTrace(trace(R"(,"quantum_ns":1e300)", slice)), UsageError);
	CHECK_THROWS_AS(readChromeTrace(trace(R"(,"quantum_ns":18446744073709551615)", slice)), UsageError);
	CHECK_THROWS_AS(readChromeTrace(trace(R"(,"quantum_ns":-1)", slice)), UsageError);
	CHECK(readChromeTrace(trace(R"(,"quantum_ns":4000000000000000000)", slice)).quantum == 4'000'000'000'000'000'000);
	CHECK_THROWS_AS(readChromeTrace(trace("", R"({"ph":"X","cat":"slice","tid":1e300,"ts":0,"dur":1,"args":{}})")),
			UsageError);
	CHECK_THROWS_AS(readChromeTrace(trace("", R"({"ph":"X","cat":"slice","tid":1,"ts":1e300,"dur":1,"args":{}})")),
			UsageError);
	CHECK_THROWS_AS(readChromeTrace(trace("", R"({"ph":"X","cat":"exit","tid":1,"ts":0,"dur":1,"args":{"port":70000}})")),
			UsageError);

	// The largest accepted values: totals and files saturate, not wrap.
	const std::string big = R"({"ph":"X","cat":"slice","tid":1,"ts":-4000000000000000,"dur":4000000000000000,)"
				R"("args":{"end":"timer","ran_ns":4000000000000000000}})";
	TraceData data = readChromeTrace(trace("", big + "," + big + "," + big));
	REQUIRE(data.slices.size() == 3);
	data.origin = 4'000'000'000'000'000'000;
	std::vector<VmTotals> totals = totalsByVm(data);
	CHECK(totals[0].ran == INT64_MAX);
	data.slices[0].start = INT64_MIN;
	std::string json = chromeTraceJson(data);
	CHECK(json.find("\"ts\":-9223372036854775.808") != std::string::npos);
	CHECK(traceCsv(data).find("slice,0,a,-9223372036854775808,") != std::string::npos);
}
