// SPDX-License-Identifier: MIT
// Fairness and latency report math. Pure functions over plain vectors so the
// report code, the scheduler tests and offline tools share one definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sched/Policy.h"

namespace quanta::sched {

// ran_i / sum(ran). All zeros when nothing ran (no share was achieved).
std::vector<double> achievedShares(std::span<const Nanos> ranNs);

// weight_i / sum(weights). Throws std::invalid_argument on a zero sum.
std::vector<double> targetShares(std::span<const std::uint64_t> weights);

// The share \a policy aims for: equal for io and rr (they ignore weights),
// weight-proportional for frac (quanta per cycle are the gcd-reduced
// weights, which keeps the proportions) and stride.
std::vector<double> targetShares(Policy policy, std::span<const std::uint64_t> weights);

// (achieved_i - target_i) * 100: error in percentage points.
std::vector<double> shareErrorPp(std::span<const double> achieved,
				 std::span<const double> target);

// Jain's index over x_i = achieved_i / target_i: (sum x)^2 / (n * sum x^2).
// 1 is perfectly proportional, 1/n is one VM taking everything. Defined as 1
// for an empty set or when every x_i is 0 (nobody ran: nobody favoured).
// Throws std::invalid_argument on size mismatch or a target <= 0.
double jainIndex(std::span<const double> achieved, std::span<const double> target);

struct ShareRow {
	double achieved;
	double target;
	double errorPp;
};

struct FairnessReport {
	std::vector<ShareRow> rows;
	double jain = 1.0;
	double maxAbsErrorPp = 0.0;
};

FairnessReport fairnessReport(std::span<const Nanos> ranNs, std::span<const double> target);

// Nearest-rank percentile of an ascending sample: the smallest value such
// that at least p% of the sample is <= it, i.e. sorted[ceil(p/100 * n) - 1]
// (p = 0 gives the minimum). Always an observed value, never interpolated.
// Throws std::invalid_argument on an empty sample or p outside [0, 100].
Nanos percentile(std::span<const Nanos> sorted, double p);

struct LatencySummary {
	std::size_t count = 0;
	Nanos min = 0;
	Nanos p50 = 0;
	Nanos p99 = 0;
	Nanos max = 0;
	double mean = 0.0;
};

// Summary of e.g. kick latencies; all zero for an empty sample.
LatencySummary summarizeLatency(std::vector<Nanos> samples);

} // namespace quanta::sched
