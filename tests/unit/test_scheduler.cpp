// SPDX-License-Identifier: MIT
// Scheduler tests, driven by a simulated clock: nothing here sleeps or
// touches KVM, so every run is deterministic (fixed seeds).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "sched/Fairness.h"
#include "sched/Scheduler.h"

using namespace quanta;
using namespace quanta::sched;

namespace {

constexpr Nanos kQuantum = 1'000'000; // 1 ms

enum class Guest {
	CpuBound,   // runs until the timer (or, under io, one quantum then exits)
	ExitOften,  // short bursts, each ending in an I/O exit
	YieldEarly, // runs a random part of its budget, then yields
};

// A stand-in for the event loop: picks, "runs" the guest according to its
// behaviour, charges what it ran and ends the slice exactly as the loop
// would, including inline I/O exits whose host-side cost is not charged.
class Sim {
public:
	Sim(Policy policy, std::vector<std::uint64_t> weights, std::vector<Guest> guests,
	    std::uint64_t seed = 1)
		: sched(policy, kQuantum, std::move(weights), 0), guests_(std::move(guests)),
		  rng_(seed)
	{
		REQUIRE(guests_.size() == sched.size());
	}

	// Runs one slice; returns the VM picked, nullopt if nothing runnable.
	std::optional<std::size_t> step()
	{
		const std::optional<Pick> pick = sched.pickNext(now);
		if (!pick)
			return std::nullopt;
		const std::size_t vm = pick->vm;
		const Nanos deadline = pick->budget ? now + *pick->budget
						    : std::numeric_limits<Nanos>::max();

		switch (guests_[vm]) {
		case Guest::CpuBound: {
			const Nanos run = pick->budget ? *pick->budget : kQuantum;
			run_(vm, run);
			sched.endSlice(vm, pick->budget ? SliceEnd::Timer : SliceEnd::IoExit, now);
			break;
		}
		case Guest::ExitOften:
			for (int exits = 0;; ++exits) {
				// Without a budget only an I/O exit can end this slice.
				if (exits >= 100'000)
					FAIL("slice never ended");
				run_(vm, std::min(uniform(1, kQuantum / 10), deadline - now));
				if (now >= deadline) {
					sched.endSlice(vm, SliceEnd::Timer, now);
					break;
				}
				if (sched.endsSlice(SliceEnd::IoExit)) {
					sched.endSlice(vm, SliceEnd::IoExit, now);
					break;
				}
				// Serviced inline: host time, charged to nobody.
				now += kIoCost;
				if (now >= deadline) {
					sched.endSlice(vm, SliceEnd::Timer, now);
					break;
				}
			}
			break;
		case Guest::YieldEarly: {
			const Nanos limit = pick->budget ? *pick->budget : kQuantum;
			const Nanos run = uniform(1, limit);
			run_(vm, run);
			sched.endSlice(vm, run == limit ? SliceEnd::Timer : SliceEnd::Yield, now);
			break;
		}
		}
		return vm;
	}

	// Steps until the simulated clock reaches \a until.
	void runUntil(Nanos until)
	{
		while (now < until) {
			if (!step())
				FAIL("nothing runnable");
		}
	}

	std::vector<std::size_t> trace(std::size_t slices)
	{
		std::vector<std::size_t> picks;
		for (std::size_t i = 0; i < slices; ++i) {
			const std::optional<std::size_t> vm = step();
			REQUIRE(vm.has_value());
			picks.push_back(*vm);
		}
		return picks;
	}

	std::vector<Nanos> ran() const
	{
		std::vector<Nanos> r;
		for (std::size_t i = 0; i < sched.size(); ++i)
			r.push_back(sched.stats(i, now).ranNs);
		return r;
	}

	double maxLagQuanta() const
	{
		double lag = 0.0;
		for (std::size_t i = 0; i < sched.size(); ++i)
			lag = std::max(lag, sched.stats(i, now).maxAbsLagQuanta);
		return lag;
	}

	Scheduler sched;
	Nanos now = 0;

private:
	static constexpr Nanos kIoCost = 3'000;

	Nanos uniform(Nanos lo, Nanos hi)
	{
		return std::uniform_int_distribution<Nanos>(lo, hi)(rng_);
	}

	void run_(std::size_t vm, Nanos ns)
	{
		sched.charge(vm, ns);
		now += ns;
	}

	std::vector<Guest> guests_;
	std::mt19937_64 rng_;
};

std::vector<Guest> all(std::size_t n, Guest g)
{
	return std::vector<Guest>(n, g);
}

// Cycles through the three behaviours so every mix has all of them.
std::vector<Guest> mixed(std::size_t n)
{
	std::vector<Guest> guests;
	for (std::size_t i = 0; i < n; ++i)
		guests.push_back(static_cast<Guest>(i % 3));
	return guests;
}

std::vector<std::uint64_t> randomWeights(std::size_t n, std::uint64_t seed)
{
	std::mt19937_64 rng(seed);
	std::uniform_int_distribution<std::uint64_t> dist(1, 100);
	std::vector<std::uint64_t> w;
	for (std::size_t i = 0; i < n; ++i)
		w.push_back(dist(rng));
	return w;
}

// Largest |achieved - target| in percentage points.
double maxErrorPp(const Sim &sim, const std::vector<std::uint64_t> &weights)
{
	return fairnessReport(sim.ran(), targetShares(weights)).maxAbsErrorPp;
}

std::string pattern(const std::vector<std::size_t> &picks)
{
	std::string s;
	for (std::size_t vm : picks)
		s += static_cast<char>('A' + vm);
	return s;
}

// Picks and immediately ends a slice with \a ran ns charged.
std::size_t runOne(Scheduler &s, Nanos &now, Nanos ran, SliceEnd why)
{
	const std::optional<Pick> pick = s.pickNext(now);
	REQUIRE(pick.has_value());
	s.charge(pick->vm, ran);
	now += ran;
	s.endSlice(pick->vm, why, now);
	return pick->vm;
}

} // namespace

TEST_SUITE("policy")
{
	TEST_CASE("policy names round-trip and unknown names are rejected")
	{
		for (Policy p : { Policy::Io, Policy::RoundRobin, Policy::Fractional, Policy::Stride })
			CHECK(parsePolicy(policyName(p)) == p);
		CHECK(parsePolicy("rr") == Policy::RoundRobin);
		CHECK(parsePolicy("frac") == Policy::Fractional);
		CHECK_FALSE(parsePolicy("fifo").has_value());
		CHECK_FALSE(parsePolicy("").has_value());
		CHECK_FALSE(parsePolicy("Stride").has_value());
		CHECK(kDefaultPolicy == Policy::Stride);
	}

	TEST_CASE("only io ends a slice on an I/O exit")
	{
		CHECK(endsSlice(Policy::Io, SliceEnd::IoExit));
		for (Policy p : { Policy::RoundRobin, Policy::Fractional, Policy::Stride })
			CHECK_FALSE(endsSlice(p, SliceEnd::IoExit));

		for (Policy p : { Policy::Io, Policy::RoundRobin, Policy::Fractional, Policy::Stride }) {
			for (SliceEnd e : { SliceEnd::Timer, SliceEnd::Yield, SliceEnd::Park,
					    SliceEnd::Halt, SliceEnd::Fault, SliceEnd::Stop })
				CHECK(endsSlice(p, e));
			Scheduler s(p, kQuantum, { 1, 1 }, 0);
			CHECK(s.endsSlice(SliceEnd::IoExit) == (p == Policy::Io));
		}
	}

	TEST_CASE("io has no budget, the others one quantum")
	{
		for (Policy p : { Policy::Io, Policy::RoundRobin, Policy::Fractional, Policy::Stride }) {
			Scheduler s(p, 5000, { 3, 1 }, 0);
			const std::optional<Pick> pick = s.pickNext(0);
			REQUIRE(pick.has_value());
			if (p == Policy::Io)
				CHECK_FALSE(pick->budget.has_value());
			else
				CHECK(pick->budget == 5000);
		}
	}

	TEST_CASE("slice end names are distinct")
	{
		std::vector<std::string> names;
		for (std::size_t i = 0; i < kSliceEndCount; ++i)
			names.emplace_back(sliceEndName(static_cast<SliceEnd>(i)));
		std::sort(names.begin(), names.end());
		CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
		CHECK(sliceEndName(SliceEnd::IoExit) == "io-exit");
	}

} // TEST_SUITE policy

TEST_SUITE("scheduler")
{
	TEST_CASE("constructor validates its arguments")
	{
		CHECK_THROWS_AS(Scheduler(Policy::Stride, kQuantum, {}, 0), std::invalid_argument);
		CHECK_THROWS_AS(Scheduler(Policy::Stride, 0, { 1 }, 0), std::invalid_argument);
		CHECK_THROWS_AS(Scheduler(Policy::Stride, -5, { 1 }, 0), std::invalid_argument);
		CHECK_THROWS_AS(Scheduler(Policy::Stride, kQuantum, { 1, 0 }, 0), std::invalid_argument);
		CHECK_THROWS_AS(Scheduler(Policy::Stride, kQuantum, { kMaxWeight + 1 }, 0),
				std::invalid_argument);
		CHECK_NOTHROW(Scheduler(Policy::Stride, kQuantum, { kMaxWeight, 1 }, 0));
	}

	TEST_CASE("misuse of the slice protocol throws")
	{
		Scheduler s(Policy::Stride, kQuantum, { 1, 1 }, 100);
		CHECK_THROWS_AS(s.charge(0, 10), std::logic_error);
		CHECK_THROWS_AS(s.endSlice(0, SliceEnd::Timer, 100), std::logic_error);
		CHECK_THROWS_AS(s.pickNext(99), std::invalid_argument); // time went back

		const std::optional<Pick> pick = s.pickNext(100);
		REQUIRE(pick.has_value());
		const std::size_t other = 1 - pick->vm;
		CHECK_THROWS_AS(s.pickNext(100), std::logic_error);
		CHECK_THROWS_AS(s.charge(other, 10), std::logic_error);
		CHECK_THROWS_AS(s.charge(pick->vm, -1), std::invalid_argument);
		CHECK_THROWS_AS(s.endSlice(pick->vm, SliceEnd::Timer, 50), std::invalid_argument);
		CHECK_THROWS_AS(s.state(2), std::out_of_range);
		CHECK_THROWS_AS(s.wake(7, 100), std::out_of_range);
		s.charge(pick->vm, 10);
		CHECK_NOTHROW(s.endSlice(pick->vm, SliceEnd::Timer, 110));
	}

	TEST_CASE("reduceByGcd turns percentages into quanta per cycle")
	{
		using W = std::vector<std::uint64_t>;
		CHECK(reduceByGcd(W{ 70, 30 }) == W{ 7, 3 });
		CHECK(reduceByGcd(W{ 50, 30, 20 }) == W{ 5, 3, 2 });
		CHECK(reduceByGcd(W{ 6, 4, 2 }) == W{ 3, 2, 1 });
		CHECK(reduceByGcd(W{ 1, 1 }) == W{ 1, 1 });
		CHECK(reduceByGcd(W{ 33, 67 }) == W{ 33, 67 });
		CHECK(reduceByGcd(W{ 40 }) == W{ 1 });
		CHECK(reduceByGcd(W{}).empty());

		Scheduler s(Policy::Fractional, kQuantum, { 70, 30 }, 0);
		CHECK(s.quantaPerCycle(0) == 7);
		CHECK(s.quantaPerCycle(1) == 3);
		CHECK(s.weight(0) == 70);
		CHECK(s.targetWeight(0) == 7);
	}

	TEST_CASE("target weights follow the policy")
	{
		CHECK(Scheduler(Policy::Io, kQuantum, { 70, 30 }, 0).targetWeight(0) == 1);
		CHECK(Scheduler(Policy::RoundRobin, kQuantum, { 70, 30 }, 0).targetWeight(0) == 1);
		CHECK(Scheduler(Policy::Fractional, kQuantum, { 70, 30 }, 0).targetWeight(0) == 7);
		CHECK(Scheduler(Policy::Stride, kQuantum, { 70, 30 }, 0).targetWeight(0) == 70);
	}

	TEST_CASE("frac reproduces the assignment's 70/30 pattern: A x7, B x3")
	{
		Sim sim(Policy::Fractional, { 70, 30 }, all(2, Guest::CpuBound));
		CHECK(pattern(sim.trace(30)) == "AAAAAAABBBAAAAAAABBBAAAAAAABBB");

		// Each quantum is its own slice, so 30 slices = 30 quanta.
		CHECK(sim.now == 30 * kQuantum);
		CHECK(sim.sched.stats(0, sim.now).slices == 21);
		CHECK(sim.ran() == std::vector<Nanos>{ 21 * kQuantum, 9 * kQuantum });
	}

	TEST_CASE("frac with three VMs: 50,30,20 -> 5,3,2")
	{
		Sim sim(Policy::Fractional, { 50, 30, 20 }, all(3, Guest::CpuBound));
		CHECK(pattern(sim.trace(20)) == "AAAAABBBCCAAAAABBBCC");
	}

	TEST_CASE("frac: I/O exits and yields do not break a run, parking forfeits it")
	{
		SUBCASE("exits often")
		{
			Sim sim(Policy::Fractional, { 2, 1 }, all(2, Guest::ExitOften));
			CHECK(pattern(sim.trace(9)) == "AABAABAAB");
		}
		SUBCASE("yields")
		{
			Sim sim(Policy::Fractional, { 2, 1 }, all(2, Guest::YieldEarly));
			CHECK(pattern(sim.trace(9)) == "AABAABAAB");
		}
		SUBCASE("park mid-run")
		{
			Scheduler s(Policy::Fractional, kQuantum, { 3, 1 }, 0);
			Nanos now = 0;
			CHECK(runOne(s, now, kQuantum, SliceEnd::Timer) == 0);
			CHECK(runOne(s, now, 10, SliceEnd::Park) == 0); // A parks in quantum 2
			CHECK(runOne(s, now, kQuantum, SliceEnd::Timer) == 1);
			CHECK(s.wake(0, now));
			// A starts a fresh run of 3; the quantum it forfeited is not owed.
			std::string p;
			for (int i = 0; i < 8; ++i)
				p += static_cast<char>('A' + runOne(s, now, kQuantum, SliceEnd::Timer));
			CHECK(p == "AAABAAAB");
		}
		SUBCASE("a parked VM is skipped, the other repeats its runs")
		{
			Scheduler s(Policy::Fractional, kQuantum, { 70, 30 }, 0);
			Nanos now = 0;
			CHECK(s.park(1, now));
			std::string p;
			for (int i = 0; i < 10; ++i)
				p += static_cast<char>('A' + runOne(s, now, kQuantum, SliceEnd::Timer));
			CHECK(p == "AAAAAAAAAA");
		}
	}

	TEST_CASE("rr: each VM gets one quantum in turn, I/O exits handled inline")
	{
		SUBCASE("cpu bound")
		{
			Sim sim(Policy::RoundRobin, { 70, 30, 5 }, all(3, Guest::CpuBound));
			CHECK(pattern(sim.trace(9)) == "ABCABCABC");
			CHECK(sim.ran() == std::vector<Nanos>(3, 3 * kQuantum));
		}
		SUBCASE("exit often: still one full quantum of wall time per slice")
		{
			Sim sim(Policy::RoundRobin, { 1, 1 }, all(2, Guest::ExitOften));
			CHECK(pattern(sim.trace(6)) == "ABABAB");
			CHECK(sim.now >= 6 * kQuantum);
			const VmStats a = sim.sched.stats(0, sim.now);
			CHECK(a.slices == 3);
			CHECK(a.ends[static_cast<std::size_t>(SliceEnd::Timer)] == 3);
			CHECK(a.ends[static_cast<std::size_t>(SliceEnd::IoExit)] == 0);
			CHECK(a.wallNs >= 3 * kQuantum);
			// Inline exit handling took wall time that was not charged.
			CHECK(a.ranNs < a.wallNs);
		}
	}

	TEST_CASE("rr counts turns, not time: an early yielder falls short of an equal share")
	{
		// Negative control for the stride tests: the sim must be able to expose unfairness.
		Sim sim(Policy::RoundRobin, { 1, 1 }, { Guest::CpuBound, Guest::YieldEarly }, 7);
		sim.runUntil(2000 * kQuantum);
		const std::vector<double> share = achievedShares(sim.ran());
		// The yielder runs half a quantum on average: ~1/3 of the CPU.
		CHECK(share[1] == doctest::Approx(1.0 / 3.0).epsilon(0.03));
		CHECK(maxErrorPp(sim, { 1, 1 }) > 10.0);
	}

	TEST_CASE("frac counts quanta too: yielding early loses share")
	{
		Sim sim(Policy::Fractional, { 70, 30 }, { Guest::YieldEarly, Guest::CpuBound }, 3);
		sim.runUntil(5000 * kQuantum);
		CHECK(maxErrorPp(sim, { 70, 30 }) > 10.0);
	}

	TEST_CASE("io: switch to the next runnable VM on every I/O exit")
	{
		SUBCASE("two VMs alternate")
		{
			Sim sim(Policy::Io, { 1, 1 }, all(2, Guest::ExitOften));
			CHECK(pattern(sim.trace(8)) == "ABABABAB");
			const VmStats b = sim.sched.stats(1, sim.now);
			CHECK(b.ends[static_cast<std::size_t>(SliceEnd::IoExit)] == 4);
		}
		SUBCASE("three VMs rotate, skipping a parked one")
		{
			Scheduler s(Policy::Io, kQuantum, { 1, 1, 1 }, 0);
			Nanos now = 0;
			std::string p;
			for (int i = 0; i < 4; ++i)
				p += static_cast<char>('A' + runOne(s, now, 100, SliceEnd::IoExit));
			CHECK(p == "ABCA");

			CHECK(s.park(1, now));
			p.clear();
			for (int i = 0; i < 4; ++i)
				p += static_cast<char>('A' + runOne(s, now, 100, SliceEnd::IoExit));
			CHECK(p == "CACA");

			CHECK(s.wake(1, now));
			p.clear();
			for (int i = 0; i < 4; ++i)
				p += static_cast<char>('A' + runOne(s, now, 100, SliceEnd::IoExit));
			CHECK(p == "BCAB");
		}
		SUBCASE("a lone runnable VM is picked again")
		{
			Scheduler s(Policy::Io, kQuantum, { 1, 1 }, 0);
			Nanos now = 0;
			s.park(0, now);
			CHECK(runOne(s, now, 100, SliceEnd::IoExit) == 1);
			CHECK(runOne(s, now, 100, SliceEnd::IoExit) == 1);
		}
	}

	TEST_CASE("stride converges to the weights for CPU-bound guests, lag within a quantum")
	{
		std::vector<std::uint64_t> heavy(51, 1);
		heavy[0] = 50; // min-pass alone would hold it behind 50 light VMs: 24.5 quanta

		struct Case {
			std::string name;
			std::vector<std::uint64_t> weights;
		};
		const std::vector<Case> cases = {
			{ "70/30", { 70, 30 } },
			{ "1/1", { 1, 1 } },
			{ "99/1", { 99, 1 } },
			{ "16 random", randomWeights(16, 42) },
			{ "64 equal", std::vector<std::uint64_t>(64, 1) },
			{ "64 random", randomWeights(64, 4242) },
			{ "1 heavy, 50 light", heavy },
		};

		for (const Case &c : cases) {
			CAPTURE(c.name);
			Sim sim(Policy::Stride, c.weights, all(c.weights.size(), Guest::CpuBound));
			sim.runUntil(static_cast<Nanos>(c.weights.size() * 1000) * kQuantum);
			CHECK(maxErrorPp(sim, c.weights) < 0.1);
			CHECK(sim.maxLagQuanta() <= 1.0);
			const FairnessReport r = fairnessReport(sim.ran(), targetShares(c.weights));
			CHECK(r.jain > 0.9999);
		}
	}

	TEST_CASE("stride charges real nanoseconds: shares converge whatever the guests do")
	{
		struct Case {
			std::string name;
			std::vector<std::uint64_t> weights;
		};
		const std::vector<Case> cases = {
			{ "70/30", { 70, 30 } },
			{ "1/1", { 1, 1 } },
			{ "99/1", { 99, 1 } },
			{ "16 random", randomWeights(16, 42) },
			{ "64 random", randomWeights(64, 4242) },
		};

		for (const Case &c : cases) {
			for (std::uint64_t seed : { 1u, 2u }) {
				CAPTURE(c.name);
				CAPTURE(seed);
				const std::size_t n = c.weights.size();
				// Mix behaviours; rotate them with the seed so each VM tries several.
				std::vector<Guest> guests = mixed(n + seed);
				guests.erase(guests.begin(), guests.begin() + static_cast<std::ptrdiff_t>(seed));
				Sim sim(Policy::Stride, c.weights, guests, seed);
				sim.runUntil(static_cast<Nanos>(std::max<std::size_t>(n, 4) * 2000) * kQuantum);
				CHECK(maxErrorPp(sim, c.weights) < 0.1);
				// EEVDF keeps lag within a quantum whatever the guests do.
				CHECK(sim.maxLagQuanta() <= 1.0);
			}
		}
	}

	TEST_CASE("stride: all guests exit often or all yield")
	{
		for (Guest g : { Guest::ExitOften, Guest::YieldEarly }) {
			const std::vector<std::uint64_t> w{ 70, 30 };
			Sim sim(Policy::Stride, w, all(2, g), 9);
			sim.runUntil(5000 * kQuantum);
			CHECK(maxErrorPp(sim, w) < 0.1);
			CHECK(sim.maxLagQuanta() <= 1.0);
		}
	}

	TEST_CASE("stride: ties are broken by id and the first round is in id order")
	{
		Sim sim(Policy::Stride, std::vector<std::uint64_t>(64, 5), all(64, Guest::CpuBound));
		std::vector<std::size_t> ids(64);
		std::iota(ids.begin(), ids.end(), 0);
		CHECK(sim.trace(64) == ids);
		CHECK(sim.trace(64) == ids);
	}

	TEST_CASE("stride 70/30: the exact interleaving of the first cycle")
	{
		// Passes start at 0 (tie: A first). Each quantum advances A's pass by
		// 1/70 and B's by 1/30 (in quantum units); the lower pass runs next.
		Sim sim(Policy::Stride, { 70, 30 }, all(2, Guest::CpuBound));
		CHECK(pattern(sim.trace(10)) == "ABAABAABAA");
		// Over one full cycle of 10 quanta: exactly 7 and 3.
		CHECK(sim.ran() == std::vector<Nanos>{ 7 * kQuantum, 3 * kQuantum });
	}

	TEST_CASE("64 VMs: pickNext sanity")
	{
		SUBCASE("rr visits every VM once per round, skipping parked ones")
		{
			Scheduler s(Policy::RoundRobin, kQuantum, std::vector<std::uint64_t>(64, 1), 0);
			Nanos now = 0;
			for (std::size_t vm = 0; vm < 64; vm += 3)
				s.park(vm, now);
			CHECK(s.runnableCount() == 64 - 22);
			std::vector<std::size_t> picks;
			for (std::size_t i = 0; i < 2 * s.runnableCount(); ++i)
				picks.push_back(runOne(s, now, kQuantum, SliceEnd::Timer));
			std::vector<std::size_t> expected;
			for (int round = 0; round < 2; ++round)
				for (std::size_t vm = 0; vm < 64; ++vm)
					if (vm % 3 != 0)
						expected.push_back(vm);
			CHECK(picks == expected);
		}
		SUBCASE("stride slices follow the weights")
		{
			const std::vector<std::uint64_t> w = randomWeights(64, 99);
			Sim sim(Policy::Stride, w, all(64, Guest::CpuBound));
			const std::uint64_t total = std::accumulate(w.begin(), w.end(), std::uint64_t{ 0 });
			sim.trace(total * 20);
			for (std::size_t vm = 0; vm < 64; ++vm) {
				CAPTURE(vm);
				const double slices = static_cast<double>(sim.sched.stats(vm, sim.now).slices);
				CHECK(std::abs(slices - 20.0 * static_cast<double>(w[vm])) <= 2.0);
			}
		}
		SUBCASE("every pick is a runnable VM and nothing runs twice at once")
		{
			Scheduler s(Policy::Stride, kQuantum, randomWeights(64, 5), 0);
			std::mt19937_64 rng(11);
			Nanos now = 0;
			for (int i = 0; i < 20000; ++i) {
				const std::size_t target = rng() % 64;
				if (rng() % 2)
					s.park(target, now);
				else
					s.wake(target, now);
				const std::optional<Pick> pick = s.pickNext(now);
				if (!pick) {
					CHECK(s.runnableCount() == 0);
					continue;
				}
				REQUIRE(s.state(pick->vm) == VmState::Running);
				CHECK(s.running() == pick->vm);
				s.charge(pick->vm, 1 + static_cast<Nanos>(rng() % kQuantum));
				now += kQuantum;
				s.endSlice(pick->vm, SliceEnd::Timer, now);
				CHECK_FALSE(s.running().has_value());
			}
		}
	}

	TEST_CASE("parking: a parked VM is never picked, wake makes it runnable again")
	{
		for (Policy p : { Policy::Io, Policy::RoundRobin, Policy::Fractional, Policy::Stride }) {
			CAPTURE(policyName(p));
			Scheduler s(p, kQuantum, { 5, 3, 2 }, 0);
			Nanos now = 0;
			CHECK(s.park(1, now));
			CHECK_FALSE(s.park(1, now)); // already parked
			CHECK_FALSE(s.isRunnable(1));
			CHECK(s.runnableCount() == 2);
			CHECK(s.liveCount() == 3);
			for (int i = 0; i < 50; ++i)
				CHECK(runOne(s, now, kQuantum, SliceEnd::Timer) != 1);

			CHECK(s.park(0, now));
			CHECK(s.park(2, now));
			CHECK(s.runnableCount() == 0);
			CHECK_FALSE(s.pickNext(now).has_value());

			now += 1000;
			CHECK(s.wake(1, now));
			CHECK_FALSE(s.wake(1, now)); // already runnable
			CHECK(s.isRunnable(1));
			CHECK(runOne(s, now, kQuantum, SliceEnd::Timer) == 1);
			CHECK(runOne(s, now, kQuantum, SliceEnd::Timer) == 1);
		}
	}

	TEST_CASE("parking the running VM ends its slice")
	{
		Scheduler s(Policy::Stride, kQuantum, { 1, 1 }, 0);
		const std::optional<Pick> pick = s.pickNext(0);
		REQUIRE(pick.has_value());
		s.charge(pick->vm, 500);
		CHECK(s.park(pick->vm, 600));
		CHECK_FALSE(s.running().has_value());
		CHECK(s.state(pick->vm) == VmState::Parked);
		const VmStats st = s.stats(pick->vm, 600);
		CHECK(st.ends[static_cast<std::size_t>(SliceEnd::Park)] == 1);
		CHECK(st.wallNs == 600);
	}

	TEST_CASE("stride: a woken VM gets its weight, not a catch-up burst")
	{
		Sim sim(Policy::Stride, { 1, 1 }, all(2, Guest::CpuBound));
		sim.trace(10);
		CHECK(sim.sched.park(0, sim.now));
		sim.trace(1000); // B runs alone for 1000 quanta
		CHECK(sim.sched.wake(0, sim.now));

		const std::vector<std::size_t> next = sim.trace(100);
		const auto a = std::count(next.begin(), next.end(), std::size_t{ 0 });
		CHECK(a >= 49);
		CHECK(a <= 51);
		// Strict alternation: A never gets two in a row.
		CHECK(pattern(next).find("AA") == std::string::npos);
		CHECK(sim.sched.lagNs(0) <= kQuantum);
	}

	TEST_CASE("stride: a VM parked for long rejoins at the current virtual time")
	{
		// A runs 10 quanta while B is parked; B wakes with no catch-up. Then A
		// runs a quantum, parks and wakes at once: it keeps its half-quantum
		// debt, so B runs next.
		Scheduler s(Policy::Stride, kQuantum, { 1, 1 }, 0);
		Nanos now = 0;
		CHECK(s.park(1, now));
		for (int i = 0; i < 10; ++i)
			CHECK(runOne(s, now, kQuantum, SliceEnd::Timer) == 0);
		CHECK(s.wake(1, now));                                // B's pass lifted to A's: no catch-up for B
		CHECK(runOne(s, now, kQuantum, SliceEnd::Park) == 0); // tie: A by id, then parks
		CHECK(s.wake(0, now));
		// A's pass is one quantum ahead of B's: B runs first.
		CHECK(runOne(s, now, kQuantum, SliceEnd::Timer) == 1);
		CHECK(runOne(s, now, kQuantum, SliceEnd::Timer) == 0);
	}

	TEST_CASE("waiting and parked time are accounted from the times passed in")
	{
		SUBCASE("rr waiting")
		{
			Scheduler s(Policy::RoundRobin, kQuantum, { 1, 1, 1 }, 1000);
			Nanos now = 1000;
			for (int i = 0; i < 9; ++i)
				runOne(s, now, kQuantum, SliceEnd::Timer);
			// Closed intervals: A waited 0 + 2q + 2q, B q + 2q + 2q, C 2q x3;
			// stats() adds the open one (A 2q, B q, C 0), so all reach 6q.
			for (std::size_t vm = 0; vm < 3; ++vm) {
				const VmStats st = s.stats(vm, now);
				CHECK(st.waitingNs == 6 * kQuantum);
				// Every ns since the start was spent waiting or in a slice.
				CHECK(st.waitingNs + st.wallNs == now - 1000);
			}
			CHECK(s.stats(0, now + 77).waitingNs == 6 * kQuantum + 77);
			runOne(s, now, kQuantum, SliceEnd::Timer); // A: closes its 2q wait
			CHECK(s.stats(0, now).waitingNs == 6 * kQuantum);
			CHECK(s.stats(1, now).waitingNs == 7 * kQuantum);
			CHECK(s.stats(0, now).slices == 4);
			CHECK(s.stats(0, now).ranNs == 4 * kQuantum);
		}
		SUBCASE("parked")
		{
			Scheduler s(Policy::Stride, kQuantum, { 1, 1 }, 0);
			CHECK(s.park(1, 100));
			CHECK(s.stats(1, 300).parkedNs == 200); // still parked: open interval
			CHECK(s.wake(1, 350));
			CHECK(s.park(1, 1000));
			CHECK(s.wake(1, 1100));
			const VmStats st = s.stats(1, 5000);
			CHECK(st.parkedNs == 250 + 100);
			// Ready from 0..100 and 350..1000 and 1100..5000
			CHECK(st.waitingNs == 100 + 650 + 3900);
		}
		SUBCASE("parked then removed")
		{
			Scheduler s(Policy::Stride, kQuantum, { 1, 1 }, 0);
			CHECK(s.park(1, 100));
			CHECK(s.remove(1, 400));
			CHECK(s.stats(1, 9000).parkedNs == 300);
		}
		SUBCASE("wall time includes uncharged time inside the slice")
		{
			Scheduler s(Policy::RoundRobin, kQuantum, { 1 }, 0);
			const std::optional<Pick> pick = s.pickNext(0);
			REQUIRE(pick.has_value());
			s.charge(0, 300);
			s.charge(0, 400);
			CHECK(s.stats(0, 900).wallNs == 900); // still running
			s.endSlice(0, SliceEnd::Stop, 1000);
			const VmStats st = s.stats(0, 1000);
			CHECK(st.ranNs == 700);
			CHECK(st.wallNs == 1000);
			CHECK(st.ends[static_cast<std::size_t>(SliceEnd::Stop)] == 1);
			CHECK(s.isRunnable(0)); // Stop keeps the VM runnable
		}
	}

	TEST_CASE("remove: a halted or faulted VM is never picked again")
	{
		Scheduler s(Policy::RoundRobin, kQuantum, { 1, 1, 1 }, 0);
		Nanos now = 0;
		CHECK(runOne(s, now, 100, SliceEnd::Halt) == 0);
		CHECK(s.state(0) == VmState::Removed);
		CHECK(s.liveCount() == 2);
		CHECK_FALSE(s.wake(0, now)); // halted for good
		CHECK_FALSE(s.remove(0, now));
		CHECK_FALSE(s.park(0, now));
		CHECK(runOne(s, now, 100, SliceEnd::Fault) == 1);
		CHECK(s.liveCount() == 1);
		for (int i = 0; i < 5; ++i)
			CHECK(runOne(s, now, 100, SliceEnd::Timer) == 2);
		CHECK(s.remove(2, now));
		CHECK(s.liveCount() == 0);
		CHECK(s.runnableCount() == 0);
		CHECK_FALSE(s.pickNext(now).has_value());
	}

	TEST_CASE("remove the running VM ends its slice as a halt")
	{
		Scheduler s(Policy::Stride, kQuantum, { 1, 1 }, 0);
		const std::optional<Pick> pick = s.pickNext(0);
		REQUIRE(pick.has_value());
		CHECK(s.remove(pick->vm, 10));
		CHECK_FALSE(s.running().has_value());
		CHECK(s.stats(pick->vm, 10).ends[static_cast<std::size_t>(SliceEnd::Halt)] == 1);
	}

	TEST_CASE("stride: after a removal the others stay proportional among themselves")
	{
		const std::vector<std::uint64_t> w{ 1, 2, 3, 4 };
		Sim sim(Policy::Stride, w, mixed(4), 5);
		sim.runUntil(2000 * kQuantum);
		const std::vector<Nanos> before = sim.ran();
		CHECK(sim.sched.remove(3, sim.now));
		sim.runUntil(sim.now + 12000 * kQuantum);

		const std::vector<Nanos> after = sim.ran();
		CHECK(after[3] == before[3]);
		const std::vector<Nanos> delta{ after[0] - before[0], after[1] - before[1],
						after[2] - before[2] };
		const std::vector<std::uint64_t> rest{ 1, 2, 3 };
		CHECK(fairnessReport(delta, targetShares(rest)).maxAbsErrorPp < 0.1);
	}

	TEST_CASE("lag: hand-computed values for two equal VMs")
	{
		Scheduler s(Policy::Stride, 1000, { 1, 1 }, 0);
		Nanos now = 0;
		CHECK(s.lagNs(0) == 0);
		CHECK(runOne(s, now, 1000, SliceEnd::Timer) == 0);
		// 1000 ns consumed, fluid split 500/500.
		CHECK(s.lagNs(0) == -500);
		CHECK(s.lagNs(1) == 500);
		CHECK(s.stats(0, now).maxAbsLagNs == 500);
		CHECK(s.stats(0, now).maxAbsLagQuanta == doctest::Approx(0.5));
		CHECK(s.stats(1, now).maxAbsLagNs == 0); // not sampled until B moves
		CHECK(runOne(s, now, 1000, SliceEnd::Timer) == 1);
		CHECK(s.lagNs(0) == 0);
		CHECK(s.lagNs(1) == 0);
		CHECK(s.stats(1, now).maxAbsLagNs == 500); // sampled when picked
	}

	TEST_CASE("lag: weighted and with charges inside one slice")
	{
		Scheduler s(Policy::Stride, 1000, { 3, 1 }, 0);
		const std::optional<Pick> pick = s.pickNext(0);
		REQUIRE(pick.has_value());
		CHECK(pick->vm == 0);
		s.charge(0, 400);
		s.charge(0, 400);
		// 800 ns: A is entitled to 600, B to 200.
		CHECK(s.lagNs(0) == -200);
		CHECK(s.lagNs(1) == 200);
		s.endSlice(0, SliceEnd::Yield, 900);
		CHECK(s.stats(0, 900).maxAbsLagNs == 200);
	}

	TEST_CASE("lag: parked VMs earn nothing, credit is dropped on wake, debt kept")
	{
		SUBCASE("no entitlement while parked")
		{
			Scheduler s(Policy::Stride, 1000, { 1, 1, 1 }, 0);
			Nanos now = 0;
			CHECK(s.park(2, now));
			CHECK(runOne(s, now, 1000, SliceEnd::Timer) == 0);
			// Split between the two runnable VMs only.
			CHECK(s.lagNs(0) == -500);
			CHECK(s.lagNs(1) == 500);
			CHECK(s.lagNs(2) == 0);
			CHECK(s.wake(2, now));
			CHECK(runOne(s, now, 900, SliceEnd::Timer) == 1);
			CHECK(s.lagNs(0) == -500 + 300);
			CHECK(s.lagNs(1) == 500 + 300 - 900);
			CHECK(s.lagNs(2) == 300);
		}
		SUBCASE("credit is forfeited to the runnable VMs on park")
		{
			Scheduler s(Policy::RoundRobin, 1000, { 1, 1, 1 }, 0);
			Nanos now = 0;
			CHECK(runOne(s, now, 1200, SliceEnd::Timer) == 0);
			CHECK(s.lagNs(0) == -800);
			CHECK(s.lagNs(1) == 400);
			CHECK(s.lagNs(2) == 400);
			CHECK(s.park(1, now));
			CHECK(s.stats(1, now).maxAbsLagNs == 400); // sampled at park
			CHECK(s.lagNs(1) == 0);
			// B's 400 split between A and C: the sum stays zero.
			CHECK(s.lagNs(0) == -600);
			CHECK(s.lagNs(2) == 600);
			CHECK(runOne(s, now, 1000, SliceEnd::Timer) == 2);
			CHECK(s.lagNs(0) == -100);
			CHECK(s.lagNs(1) == 0); // parked: earns nothing
			CHECK(s.lagNs(2) == 100);
			CHECK(s.wake(1, now));
			CHECK(s.lagNs(1) == 0);
		}
		SUBCASE("debt kept")
		{
			Scheduler s(Policy::RoundRobin, 1000, { 1, 1 }, 0);
			Nanos now = 0;
			CHECK(runOne(s, now, 1000, SliceEnd::Park) == 0);
			CHECK(s.lagNs(0) == -500);
			CHECK(s.wake(0, now + 10));
			CHECK(s.lagNs(0) == -500);
		}
		SUBCASE("debt kept across a long park: no escaping it")
		{
			Scheduler s(Policy::Stride, 1000, { 1, 1, 1 }, 0);
			Nanos now = 0;
			CHECK(runOne(s, now, 900, SliceEnd::Park) == 0);
			CHECK(s.lagNs(0) == -600);
			// B and C share the CPU for a long time meanwhile.
			for (int i = 0; i < 100; ++i)
				runOne(s, now, 1000, SliceEnd::Timer);
			CHECK(s.lagNs(0) == -600);
			CHECK(s.wake(0, now));
			CHECK(s.lagNs(0) == -600);
			CHECK(s.lagNs(1) + s.lagNs(2) == 600); // the matching credit
		}
		SUBCASE("removed: frozen, and absorbed by the others")
		{
			Scheduler s(Policy::Stride, 1000, { 1, 1 }, 0);
			Nanos now = 0;
			CHECK(runOne(s, now, 1000, SliceEnd::Halt) == 0);
			CHECK(s.lagNs(0) == -500);
			CHECK(s.stats(0, now).lagNs == -500);
			CHECK(s.lagNs(1) == 0); // A will never repay: B is owed nothing
			CHECK(runOne(s, now, 1000, SliceEnd::Timer) == 1);
			CHECK(s.lagNs(0) == -500);
			CHECK(s.lagNs(1) == 0);
		}
	}

	TEST_CASE("lag stays zero-sum under random park, wake, remove")
	{
		// Sum over runnable VMs of lag = sum of the debts parked VMs carry.
		for (Policy p : { Policy::RoundRobin, Policy::Fractional, Policy::Stride }) {
			CAPTURE(policyName(p));
			Scheduler s(p, kQuantum, randomWeights(16, 8), 0);
			std::mt19937_64 rng(21);
			Nanos now = 0;
			for (int i = 0; i < 5000; ++i) {
				const std::size_t target = rng() % 16;
				switch (rng() % 8) {
				case 0:
					s.park(target, now);
					break;
				case 1:
				case 2:
					s.wake(target, now);
					break;
				case 3:
					if (i % 50 == 0)
						s.remove(target, now);
					break;
				default:
					break;
				}
				const std::optional<Pick> pick = s.pickNext(now);
				if (!pick)
					continue;
				const Nanos ran = 1 + static_cast<Nanos>(rng() % kQuantum);
				s.charge(pick->vm, ran);
				now += ran;
				const SliceEnd why = rng() % 4 == 0 ? SliceEnd::Park : SliceEnd::Timer;
				s.endSlice(pick->vm, why, now);

				Nanos runnable = 0;
				Nanos debts = 0;
				for (std::size_t vm = 0; vm < 16; ++vm) {
					if (s.isRunnable(vm))
						runnable += s.lagNs(vm);
					else if (s.state(vm) == VmState::Parked)
						debts -= s.lagNs(vm);
				}
				if (s.runnableCount() > 0) {
					// Rounding: each lag is rounded to a ns.
					CHECK(std::abs(runnable - debts) <= 32);
				}
				CHECK(debts >= 0);
			}
		}
	}

	TEST_CASE("lag exposes an unfair policy: io with one guest that never exits early")
	{
		// B's slices are 10x longer, so under io (equal targets) lag grows without bound.
		Scheduler s(Policy::Io, 1000, { 1, 1 }, 0);
		Nanos now = 0;
		for (int i = 0; i < 100; ++i) {
			runOne(s, now, 100, SliceEnd::IoExit);
			runOne(s, now, 1000, SliceEnd::IoExit);
		}
		CHECK(s.lagNs(0) == 100 * 450);
		CHECK(s.stats(1, now).maxAbsLagQuanta >= 45.0);
	}

} // TEST_SUITE scheduler
