#include "app/SweepStats.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace quanta::stats {

double mean(std::span<const double> values)
{
	if (values.empty())
		return 0.0;
	double sum = 0.0;
	for (double v : values)
		sum += v;
	return sum / static_cast<double>(values.size());
}

double sampleStdDev(std::span<const double> values)
{
	if (values.size() < 2)
		return 0.0;
	double m = mean(values);
	double squares = 0.0;
	for (double v : values)
		squares += (v - m) * (v - m);
	return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

namespace {

// The continued fraction of I_x(a, b) (modified Lentz), which converges
// fast for x < (a + 1) / (a + b + 2); the caller uses the symmetry
// I_x(a, b) = 1 - I_{1-x}(b, a) otherwise.
double betaFraction(double a, double b, double x)
{
	constexpr double tiny = 1e-300;
	constexpr double epsilon = 1e-15;
	double c = 1.0;
	double d = 1.0 - (a + b) * x / (a + 1.0);
	if (std::fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	double h = d;
	for (int m = 1; m <= 10000; ++m) {
		double m2 = 2.0 * m;
		double even = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
		d = 1.0 + even * d;
		d = std::fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
		c = 1.0 + even / c;
		if (std::fabs(c) < tiny)
			c = tiny;
		h *= d * c;
		double odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
		d = 1.0 + odd * d;
		d = std::fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
		c = 1.0 + odd / c;
		if (std::fabs(c) < tiny)
			c = tiny;
		double step = d * c;
		h *= step;
		if (std::fabs(step - 1.0) < epsilon)
			break;
	}
	return h;
}

} // namespace

double incompleteBeta(double a, double b, double x)
{
	if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0 && x <= 1.0))
		throw std::invalid_argument("incompleteBeta: a, b > 0 and 0 <= x <= 1");
	if (x == 0.0 || x == 1.0)
		return x;
	double logFront = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
			  b * std::log1p(-x);
	if (x < (a + 1.0) / (a + b + 2.0))
		return std::exp(logFront) * betaFraction(a, b, x) / a;
	return 1.0 - std::exp(logFront) * betaFraction(b, a, 1.0 - x) / b;
}

double studentTCdf(double t, double df)
{
	if (!(df > 0.0))
		throw std::invalid_argument("studentTCdf: df must be positive");
	double tail = 0.5 * incompleteBeta(df / 2.0, 0.5, df / (df + t * t));
	return t >= 0.0 ? 1.0 - tail : tail;
}

double studentTQuantile(double p, double df)
{
	if (!(p > 0.0 && p < 1.0) || !(df > 0.0))
		throw std::invalid_argument("studentTQuantile: 0 < p < 1 and df > 0");
	if (p < 0.5)
		return -studentTQuantile(1.0 - p, df);
	// The CDF rises monotonically; widen the bracket until it holds p.
	double low = 0.0;
	double high = 1.0;
	while (studentTCdf(high, df) < p)
		high *= 2.0;
	for (int i = 0; i < 200 && high - low > 1e-13 * high; ++i) {
		double mid = 0.5 * (low + high);
		(studentTCdf(mid, df) < p ? low : high) = mid;
	}
	return 0.5 * (low + high);
}

Summary summarize(std::span<const double> values, double level)
{
	if (!(level > 0.0 && level < 1.0))
		throw std::invalid_argument("summarize: level must be in (0, 1)");
	Summary s;
	s.n = values.size();
	s.mean = mean(values);
	s.sd = sampleStdDev(values);
	s.ciLow = s.ciHigh = s.mean;
	if (s.n >= 2) {
		double t = studentTQuantile(1.0 - (1.0 - level) / 2.0, static_cast<double>(s.n - 1));
		s.ciHalfWidth = t * s.sd / std::sqrt(static_cast<double>(s.n));
		s.ciLow = s.mean - s.ciHalfWidth;
		s.ciHigh = s.mean + s.ciHalfWidth;
	}
	return s;
}

} // namespace quanta::stats
