// SPDX-License-Identifier: MIT
// Fairness and latency math, checked against hand-computed values.
#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "sched/Fairness.h"

using namespace quanta;
using namespace quanta::sched;

TEST_SUITE("fairness")
{
	TEST_CASE("achieved shares are each VM's fraction of the run time")
	{
		const std::vector<double> s = achievedShares(std::vector<Nanos>{ 300, 100 });
		REQUIRE(s.size() == 2);
		CHECK(s[0] == doctest::Approx(0.75));
		CHECK(s[1] == doctest::Approx(0.25));

		const std::vector<double> t = achievedShares(std::vector<Nanos>{ 1, 2, 7 });
		CHECK(t[0] == doctest::Approx(0.1));
		CHECK(t[1] == doctest::Approx(0.2));
		CHECK(t[2] == doctest::Approx(0.7));

		CHECK(achievedShares(std::vector<Nanos>{ 0, 0 }) == std::vector<double>{ 0.0, 0.0 });
		CHECK(achievedShares(std::vector<Nanos>{}).empty());
		CHECK_THROWS_AS(achievedShares(std::vector<Nanos>{ 5, -1 }), std::invalid_argument);
	}

	TEST_CASE("target shares: weights, and per policy")
	{
		using W = std::vector<std::uint64_t>;
		const std::vector<double> t = targetShares(W{ 70, 30 });
		CHECK(t[0] == doctest::Approx(0.7));
		CHECK(t[1] == doctest::Approx(0.3));
		CHECK_THROWS_AS(targetShares(W{ 0, 0 }), std::invalid_argument);

		const std::vector<double> io = targetShares(Policy::Io, W{ 70, 20, 10 });
		const std::vector<double> rr = targetShares(Policy::RoundRobin, W{ 70, 20, 10 });
		for (const auto &v : { io, rr }) {
			REQUIRE(v.size() == 3);
			for (double x : v)
				CHECK(x == doctest::Approx(1.0 / 3.0));
		}

		const std::vector<double> frac = targetShares(Policy::Fractional, W{ 50, 30, 20 });
		CHECK(frac[0] == doctest::Approx(0.5));
		CHECK(frac[1] == doctest::Approx(0.3));
		CHECK(frac[2] == doctest::Approx(0.2));

		const std::vector<double> stride = targetShares(Policy::Stride, W{ 1, 3 });
		CHECK(stride[0] == doctest::Approx(0.25));
		CHECK(stride[1] == doctest::Approx(0.75));
	}

	TEST_CASE("share error is in percentage points")
	{
		const std::vector<double> e = shareErrorPp(std::vector<double>{ 0.75, 0.25 },
							   std::vector<double>{ 0.7, 0.3 });
		CHECK(e[0] == doctest::Approx(5.0));
		CHECK(e[1] == doctest::Approx(-5.0));
		CHECK_THROWS_AS(shareErrorPp(std::vector<double>{ 1.0 }, std::vector<double>{ 0.5, 0.5 }),
				std::invalid_argument);
	}

	TEST_CASE("Jain's index over achieved/target")
	{
		using D = std::vector<double>;
		// x = 1.5, 0.5: (2)^2 / (2 * 2.5) = 0.8
		CHECK(jainIndex(D{ 0.75, 0.25 }, D{ 0.5, 0.5 }) == doctest::Approx(0.8));
		// Exactly proportional, with unequal targets.
		CHECK(jainIndex(D{ 0.7, 0.3 }, D{ 0.7, 0.3 }) == doctest::Approx(1.0));
		// One VM of four takes everything: x = 4,0,0,0 -> 16 / (4 * 16) = 1/n.
		CHECK(jainIndex(D{ 1, 0, 0, 0 }, D{ 0.25, 0.25, 0.25, 0.25 }) == doctest::Approx(0.25));
		// 70/30 achieved when 50/50 was the target: x = 1.4, 0.6 -> 4 / (2 * 2.32).
		CHECK(jainIndex(D{ 0.7, 0.3 }, D{ 0.5, 0.5 }) == doctest::Approx(4.0 / 4.64));
		// Weighted: x = 0.5/0.7, 0.5/0.3.
		const double a = 0.5 / 0.7, b = 0.5 / 0.3;
		CHECK(jainIndex(D{ 0.5, 0.5 }, D{ 0.7, 0.3 }) ==
		      doctest::Approx((a + b) * (a + b) / (2 * (a * a + b * b))));

		CHECK(jainIndex(D{}, D{}) == 1.0);
		CHECK(jainIndex(D{ 0, 0 }, D{ 0.5, 0.5 }) == 1.0);
		CHECK_THROWS_AS(jainIndex(D{ 0.5, 0.5 }, D{ 1.0, 0.0 }), std::invalid_argument);
		CHECK_THROWS_AS(jainIndex(D{ 0.5 }, D{ 0.5, 0.5 }), std::invalid_argument);
	}

	TEST_CASE("fairness report combines shares, errors and Jain")
	{
		const FairnessReport r = fairnessReport(std::vector<Nanos>{ 600, 300, 100 },
							std::vector<double>{ 0.5, 0.3, 0.2 });
		REQUIRE(r.rows.size() == 3);
		CHECK(r.rows[0].achieved == doctest::Approx(0.6));
		CHECK(r.rows[0].target == doctest::Approx(0.5));
		CHECK(r.rows[0].errorPp == doctest::Approx(10.0));
		CHECK(r.rows[1].errorPp == doctest::Approx(0.0));
		CHECK(r.rows[2].errorPp == doctest::Approx(-10.0));
		CHECK(r.maxAbsErrorPp == doctest::Approx(10.0));
		// x = 1.2, 1, 0.5: 2.7^2 / (3 * 2.69)
		CHECK(r.jain == doctest::Approx(7.29 / 8.07));
	}

	TEST_CASE("nearest-rank percentiles")
	{
		// The textbook example: {15, 20, 35, 40, 50}.
		const std::vector<Nanos> s{ 15, 20, 35, 40, 50 };
		CHECK(percentile(s, 0) == 15);
		CHECK(percentile(s, 5) == 15);
		CHECK(percentile(s, 30) == 20);
		CHECK(percentile(s, 40) == 20);
		CHECK(percentile(s, 50) == 35);
		CHECK(percentile(s, 100) == 50);

		std::vector<Nanos> hundred(100);
		std::iota(hundred.begin(), hundred.end(), 1);
		CHECK(percentile(hundred, 50) == 50);
		CHECK(percentile(hundred, 99) == 99);
		CHECK(percentile(hundred, 99.5) == 100);
		CHECK(percentile(hundred, 1) == 1);

		// Rank exactly on an integer must not round up through FP error.
		std::vector<Nanos> thousand(1000);
		std::iota(thousand.begin(), thousand.end(), 1);
		CHECK(percentile(thousand, 99.9) == 999);
		CHECK(percentile(thousand, 99.7) == 997);
		CHECK(percentile(thousand, 0.1) == 1);

		CHECK(percentile(std::vector<Nanos>{ 42 }, 99) == 42);
		CHECK_THROWS_AS(percentile(std::vector<Nanos>{}, 50), std::invalid_argument);
		CHECK_THROWS_AS(percentile(s, 101), std::invalid_argument);
		CHECK_THROWS_AS(percentile(s, -1), std::invalid_argument);
	}

	TEST_CASE("latency summary sorts its sample")
	{
		const LatencySummary l = summarizeLatency({ 5, 1, 4, 2, 3 });
		CHECK(l.count == 5);
		CHECK(l.min == 1);
		CHECK(l.p50 == 3);
		CHECK(l.p99 == 5);
		CHECK(l.max == 5);
		CHECK(l.mean == doctest::Approx(3.0));

		// A long tail: 98 fast kicks, two slow ones.
		std::vector<Nanos> kicks(98, 1000);
		kicks.push_back(50'000);
		kicks.push_back(90'000);
		const LatencySummary t = summarizeLatency(kicks);
		CHECK(t.p50 == 1000);
		CHECK(t.p99 == 50'000);
		CHECK(t.max == 90'000);
		CHECK(t.mean == doctest::Approx((98 * 1000 + 140'000) / 100.0));

		const LatencySummary e = summarizeLatency({});
		CHECK(e.count == 0);
		CHECK(e.max == 0);
	}

} // TEST_SUITE fairness
