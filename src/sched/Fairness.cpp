// SPDX-License-Identifier: MIT
#include "sched/Fairness.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace quanta::sched {

std::vector<double> achievedShares(std::span<const Nanos> ranNs)
{
	// long double: sums of many int64 ns must not lose precision.
	long double total = 0;
	for (Nanos ns : ranNs) {
		if (ns < 0)
			throw std::invalid_argument("fairness: negative run time");
		total += static_cast<long double>(ns);
	}

	std::vector<double> shares(ranNs.size(), 0.0);
	if (total == 0)
		return shares;
	for (std::size_t i = 0; i < ranNs.size(); ++i)
		shares[i] = static_cast<double>(static_cast<long double>(ranNs[i]) / total);
	return shares;
}

std::vector<double> targetShares(std::span<const std::uint64_t> weights)
{
	long double total = 0;
	for (std::uint64_t w : weights)
		total += static_cast<long double>(w);
	if (total == 0)
		throw std::invalid_argument("fairness: weights sum to zero");

	std::vector<double> shares;
	shares.reserve(weights.size());
	for (std::uint64_t w : weights)
		shares.push_back(static_cast<double>(static_cast<long double>(w) / total));
	return shares;
}

std::vector<double> targetShares(Policy policy, std::span<const std::uint64_t> weights)
{
	switch (policy) {
	case Policy::Io:
	case Policy::RoundRobin:
		return std::vector<double>(weights.size(),
					   weights.empty() ? 0.0 : 1.0 / static_cast<double>(weights.size()));
	case Policy::Fractional:
	case Policy::Stride:
		break;
	}
	return targetShares(weights);
}

std::vector<double> shareErrorPp(std::span<const double> achieved,
				 std::span<const double> target)
{
	if (achieved.size() != target.size())
		throw std::invalid_argument("fairness: size mismatch");

	std::vector<double> errors;
	errors.reserve(achieved.size());
	for (std::size_t i = 0; i < achieved.size(); ++i)
		errors.push_back((achieved[i] - target[i]) * 100.0);
	return errors;
}

double jainIndex(std::span<const double> achieved, std::span<const double> target)
{
	if (achieved.size() != target.size())
		throw std::invalid_argument("fairness: size mismatch");

	double sum = 0.0;
	double sumSquares = 0.0;
	for (std::size_t i = 0; i < achieved.size(); ++i) {
		if (!(target[i] > 0.0))
			throw std::invalid_argument("fairness: target share must be > 0");
		const double x = achieved[i] / target[i];
		sum += x;
		sumSquares += x * x;
	}

	if (sumSquares == 0.0)
		return 1.0;
	return sum * sum / (static_cast<double>(achieved.size()) * sumSquares);
}

FairnessReport fairnessReport(std::span<const Nanos> ranNs, std::span<const double> target)
{
	const std::vector<double> achieved = achievedShares(ranNs);
	const std::vector<double> errors = shareErrorPp(achieved, target);

	FairnessReport report;
	report.jain = jainIndex(achieved, target);
	for (std::size_t i = 0; i < achieved.size(); ++i) {
		report.rows.push_back({ achieved[i], target[i], errors[i] });
		report.maxAbsErrorPp = std::max(report.maxAbsErrorPp, std::fabs(errors[i]));
	}
	return report;
}

Nanos percentile(std::span<const Nanos> sorted, double p)
{
	if (sorted.empty())
		throw std::invalid_argument("percentile: empty sample");
	if (!(p >= 0.0 && p <= 100.0))
		throw std::invalid_argument("percentile: p outside [0, 100]");

	const double n = static_cast<double>(sorted.size());
	// The epsilon stops 99.9% * 1000 = 999.0000000000001 rounding up a rank.
	const double rank = std::ceil(p / 100.0 * n - 1e-9);
	const std::size_t index = rank < 1.0 ? 0 : static_cast<std::size_t>(rank) - 1;
	return sorted[std::min(index, sorted.size() - 1)];
}

LatencySummary summarizeLatency(std::vector<Nanos> samples)
{
	LatencySummary summary;
	if (samples.empty())
		return summary;

	std::sort(samples.begin(), samples.end());
	long double total = 0;
	for (Nanos ns : samples)
		total += static_cast<long double>(ns);

	summary.count = samples.size();
	summary.min = samples.front();
	summary.p50 = percentile(samples, 50.0);
	summary.p99 = percentile(samples, 99.0);
	summary.max = samples.back();
	summary.mean = static_cast<double>(total / static_cast<long double>(samples.size()));
	return summary;
}

} // namespace quanta::sched
