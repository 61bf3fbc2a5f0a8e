#pragma once
/// \file
/// The summary of one statistic over trials (e.g. the top-1 accuracy of each
/// simulated chip): moments, extremes, quantiles, confidence intervals, histogram.

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "xbarmc/stats/intervals.hpp"

namespace xbarmc::stats {

/// Equal-width histogram: bin i covers [lo + i (hi - lo) / bins, lo + (i + 1) (hi - lo) / bins),
/// the last bin closed. When every value is the same, lo = hi and there is one bin.
struct Histogram {
  double lo;
  double hi;
  std::vector<std::int64_t> counts;
};

/// Summary of one value per trial.
struct Summary {
  std::int64_t n;                           ///< number of values (trials)
  double mean;                              ///< arithmetic mean
  double std;                               ///< sample standard deviation (n - 1 in the denominator; NaN when n = 1)
  double min;                               ///< smallest value
  double max;                               ///< largest value
  Interval mean_ci;                         ///< Student-t on n - 1 degrees of freedom, within the bounds
  std::vector<QuantileEstimate> quantiles;  ///< p01, p05, p50, p95 by default
  Histogram histogram;                      ///< over [min, max]
  double confidence;                        ///< level of every interval, e.g. 0.95
  Interval bounds{0.0, 1.0};                ///< the range the values can take (sides of too-short intervals)
};

/// Summarizes x, one value per trial. `bounds` is the range the values can take
/// ([0, 1] for accuracy); it closes an order-statistic interval that the sample is
/// too small to close and bounds the mean's interval. Throws xbarmc::Error for an
/// empty sample, a NaN or a value outside `bounds`, and InvalidConfig for a
/// probability outside (0, 1), a confidence outside (0, 1) or bins < 1.
Summary summarize(const std::vector<double>& x, Interval bounds = {0.0, 1.0},
                  const std::vector<double>& ps = {0.01, 0.05, 0.5, 0.95}, double confidence = 0.95, int bins = 20);

/// JSON of a summary: n, mean, std, min, max, one key per quantile (p01, ...), the
/// intervals as [lo, hi] arrays (mean_ci95, p01_ci95, ...; the suffix follows the
/// confidence), confidence, and histogram {lo, hi, counts}. NaN and infinities
/// become null.
nlohmann::json to_json(const Summary& s);

/// The drop of each statistic against a reference (e.g. the float accuracy):
/// mean_drop = reference - mean with its interval mirrored (mean_drop_ci95), likewise
/// for each quantile, min_drop = reference - min and max_drop = reference - max.
nlohmann::json to_json_drop(const Summary& s, double reference);

}  // namespace xbarmc::stats
