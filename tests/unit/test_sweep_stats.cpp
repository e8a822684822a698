// Sweep statistics against published values: Student t quantiles from
// standard tables (to the digits they print), and a hand-computed sample.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "app/SweepStats.h"

using namespace quanta::stats;

TEST_SUITE("sweep-stats")
{
	TEST_CASE("mean and sample standard deviation")
	{
		std::vector<double> v{ 2, 4, 4, 4, 5, 5, 7, 9 };
		CHECK(mean(v) == doctest::Approx(5.0));
		// Sum of squares 32 over n - 1 = 7.
		CHECK(sampleStdDev(v) == doctest::Approx(std::sqrt(32.0 / 7.0)));
		CHECK(sampleStdDev(std::vector<double>{ 3.0 }) == 0.0);
		CHECK(mean(std::vector<double>{}) == 0.0);
	}

	TEST_CASE("incomplete beta at known points")
	{
		// I_x(1, 1) = x; I_x(2, 1) = x^2; I_0.5(a, a) = 0.5 by symmetry.
		CHECK(incompleteBeta(1, 1, 0.3) == doctest::Approx(0.3).epsilon(1e-12));
		CHECK(incompleteBeta(2, 1, 0.6) == doctest::Approx(0.36).epsilon(1e-12));
		CHECK(incompleteBeta(7.5, 7.5, 0.5) == doctest::Approx(0.5).epsilon(1e-12));
		CHECK(incompleteBeta(3, 4, 0.0) == 0.0);
		CHECK(incompleteBeta(3, 4, 1.0) == 1.0);
		CHECK_THROWS_AS(incompleteBeta(0, 1, 0.5), std::invalid_argument);
	}

	TEST_CASE("Student t CDF: df = 1 is the Cauchy distribution")
	{
		for (double t : { -3.0, -0.5, 0.0, 0.7, 2.0, 10.0 })
			CHECK(studentTCdf(t, 1) == doctest::Approx(0.5 + std::atan(t) / M_PI).epsilon(1e-12));
	}

	TEST_CASE("two-sided 95% t quantiles match the tables")
	{
		struct Row {
			double df;
			double t;
		};
		// t(0.975, df) to six decimals, as statistics tables print them.
		const Row rows[] = { { 1, 12.706205 }, { 2, 4.302653 }, { 3, 3.182446 }, { 4, 2.776445 }, { 5, 2.570582 }, { 9, 2.262157 }, { 19, 2.093024 }, { 29, 2.045230 }, { 100, 1.983972 }, { 1e6, 1.959966 } };
		for (const Row &row : rows) {
			CAPTURE(row.df);
			CHECK(studentTQuantile(0.975, row.df) == doctest::Approx(row.t).epsilon(1e-6));
		}
		// Other levels and the lower tail.
		CHECK(studentTQuantile(0.995, 10) == doctest::Approx(3.169273).epsilon(1e-6));
		CHECK(studentTQuantile(0.95, 7) == doctest::Approx(1.894579).epsilon(1e-6));
		CHECK(studentTQuantile(0.025, 4) == doctest::Approx(-2.776445).epsilon(1e-6));
		CHECK(studentTQuantile(0.5, 3) == doctest::Approx(0.0));
		CHECK_THROWS_AS(studentTQuantile(1.0, 3), std::invalid_argument);
		CHECK_THROWS_AS(studentTQuantile(0.5, 0), std::invalid_argument);
	}

	TEST_CASE("confidence interval of the mean")
	{
		// n = 5, mean 10, sd = sqrt(2.5): half width t(0.975, 4) * sd / sqrt(5).
		std::vector<double> v{ 8, 9, 10, 11, 12 };
		Summary s = summarize(v);
		CHECK(s.n == 5);
		CHECK(s.mean == doctest::Approx(10.0));
		CHECK(s.sd == doctest::Approx(std::sqrt(2.5)));
		CHECK(s.ciHalfWidth == doctest::Approx(2.776445 * std::sqrt(2.5) / std::sqrt(5.0)).epsilon(1e-6));
		CHECK(s.ciLow == doctest::Approx(10.0 - s.ciHalfWidth));
		CHECK(s.ciHigh == doctest::Approx(10.0 + s.ciHalfWidth));

		// One value: no spread, the interval collapses onto it.
		Summary one = summarize(std::vector<double>{ 4.0 });
		CHECK(one.ciLow == 4.0);
		CHECK(one.ciHigh == 4.0);
		CHECK(one.ciHalfWidth == 0.0);

		// A 99% interval is wider than the 95% one.
		CHECK(summarize(v, 0.99).ciHalfWidth > s.ciHalfWidth);
	}
}
