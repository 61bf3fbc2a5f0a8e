#pragma once
/// \file
/// The building blocks of xbarmc's statistics: sample checks, the quantile point
/// estimate (the order statistic X_(ceil(n p)), Hyndman-Fan type 1), its
/// distribution-free order-statistic confidence interval, and the Student-t
/// interval for a mean. docs/statistics.md states every definition.

#include <cstdint>
#include <string>
#include <vector>

namespace xbarmc::stats {

/// A closed interval [lo, hi]; a side may be infinite when the values are unbounded.
struct Interval {
  double lo;
  double hi;
};

/// A quantile estimate with its confidence interval.
struct QuantileEstimate {
  double p;                     ///< the probability, e.g. 0.05 for the 5th percentile
  double value;                 ///< the point estimate X_(rank)
  Interval ci;                  ///< [X_(lower_rank), X_(upper_rank)], a side at the bound when its rank does not exist
  std::int64_t rank = 0;        ///< ceil(n p), 1-based
  std::int64_t lower_rank = 0;  ///< 1..n, or 0 when the lower side is the bound (too few values)
  std::int64_t upper_rank = 0;  ///< 1..n, or n + 1 when the upper side is the bound (too few values)
};

/// Ranks [lower, upper] of an order-statistic interval for the p-quantile of n values.
struct RankInterval {
  std::int64_t lower;  ///< 1..n, or 0 when no order statistic is low enough (the side is the bound)
  std::int64_t upper;  ///< 1..n, or n + 1 when no order statistic is high enough
  double miss_below;   ///< P(Bin(n, p) <= lower - 1): the most the interval can lie entirely above the quantile
  double miss_above;   ///< P(Bin(n, p) >= upper): the most it can lie entirely below the quantile
  /// The guaranteed coverage 1 - miss_below - miss_above (exact for continuous distributions).
  double coverage() const { return 1.0 - miss_below - miss_above; }
};

/// Throws xbarmc::Error when x is empty or holds a NaN, an infinity or a value outside
/// `bounds` (`what` names the sample in the message, e.g. "accuracy of arm 2").
void check_sample(const std::vector<double>& x, Interval bounds, const std::string& what = "sample");

/// Throws InvalidConfig unless 0 < confidence < 1.
void check_confidence(double confidence);

/// Throws InvalidConfig unless 0 < p < 1.
void check_probability(double p);

/// The 1-based rank of the quantile point estimate: ceil(n p), clamped to [1, n]. A
/// product n p that is an integer up to rounding (100 * 0.07) counts as that integer.
std::int64_t quantile_rank(std::int64_t n, double p);

/// The equal-tailed order-statistic interval: the largest lower rank with
/// P(Bin(n, p) <= lower - 1) <= (1 - confidence) / 2 and the smallest upper rank with
/// P(Bin(n, p) >= upper) <= (1 - confidence) / 2. It covers the p-quantile with
/// probability >= confidence for any distribution, ties included, and contains
/// quantile_rank(n, p).
RankInterval quantile_ci_ranks(std::int64_t n, double p, double confidence);

/// The p-quantile of an ascending sample with its order-statistic interval; a side
/// whose rank does not exist is the matching side of `bounds`.
QuantileEstimate quantile_estimate(const std::vector<double>& sorted, double p, double confidence, Interval bounds);

/// The fewest values for which the order-statistic interval of the p-quantile has a
/// lower (lower_side = true) or an upper limit inside the data.
std::int64_t min_n_for_quantile_side(double p, double confidence, bool lower_side);

/// Two-sided Student-t interval mean -/+ t(1 - (1 - confidence) / 2; n - 1) * sd / sqrt(n),
/// intersected with `bounds` (the mean cannot leave them). n = 1 gives `bounds`.
Interval mean_interval(double mean, double sd, std::int64_t n, double confidence, Interval bounds);

/// The column suffix of a confidence level: "ci95" for 0.95, "ci99.9" for 0.999.
std::string ci_name(double confidence);

/// The name of a percentile: "p05" for 0.05, "p50" for 0.5, "p99.9" for 0.999.
std::string percentile_name(double p);

}  // namespace xbarmc::stats
