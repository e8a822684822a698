// Statistics for repeated runs: mean, sample standard deviation and the
// Student t confidence interval of the mean. Pure functions over plain
// vectors (no I/O), so the summary and its tests share one definition.
#pragma once

#include <cstddef>
#include <span>

namespace quanta::stats {

double mean(std::span<const double> values);

// Sample standard deviation (n - 1 in the denominator); 0 for n < 2.
double sampleStdDev(std::span<const double> values);

// The regularized incomplete beta function I_x(a, b), x in [0, 1].
double incompleteBeta(double a, double b, double x);

// P(T <= t) for Student's t distribution with df degrees of freedom.
double studentTCdf(double t, double df);

// The t with P(T <= t) = p (0 < p < 1), found by bisection on the CDF to
// about 1e-12: e.g. p = 0.975, df = 4 gives 2.7764.
double studentTQuantile(double p, double df);

struct Summary {
	std::size_t n = 0;
	double mean = 0.0;
	double sd = 0.0;     // sample standard deviation
	double ciLow = 0.0;  // confidence interval of the mean
	double ciHigh = 0.0; // (equal to the mean when n < 2: no spread known)
	double ciHalfWidth = 0.0;
};

// mean +- t(1 - (1 - level) / 2, n - 1) * sd / sqrt(n).
Summary summarize(std::span<const double> values, double level = 0.95);

} // namespace quanta::stats
