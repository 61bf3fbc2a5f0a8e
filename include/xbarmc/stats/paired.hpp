#pragma once
/// \file
/// Paired comparison of two arms that saw the same chips: trial i of arm a and trial
/// i of arm b share their random draws, so their difference has a small interval.

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "xbarmc/stats/intervals.hpp"

namespace xbarmc::stats {

/// Bootstrap resamples used for the intervals of quantile differences.
constexpr int bootstrap_resamples = 2000;

/// Difference b - a of each statistic between two paired arms.
struct PairedDifference {
  double mean;       ///< mean(b) - mean(a) = mean of the per-trial differences
  Interval mean_ci;  ///< paired Student-t interval (n - 1 degrees of freedom)
  /// Q_p(b) - Q_p(a) (both type-1 quantiles) with a paired percentile-bootstrap interval;
  /// `rank` is ceil(n p), lower_rank and upper_rank are 0 (the ends are bootstrap replicates).
  std::vector<QuantileEstimate> quantiles;
  std::int64_t n = 0;                   ///< number of pairs (trials)
  double confidence = 0.95;             ///< level of every interval
  int resamples = bootstrap_resamples;  ///< bootstrap resamples behind the quantile intervals
};

/// Difference b - a between two arms evaluated on the same chips (a[i] and b[i] are
/// trial i). The mean difference gets a paired t interval; each quantile difference a
/// paired bootstrap (whole trials resampled, bootstrap_resamples times, percentile
/// interval), drawn from Philox with rng::Purpose::bootstrap under `seed`, so the
/// result is reproducible. `bounds` is the range of a single value; a difference lies
/// in [bounds.lo - bounds.hi, bounds.hi - bounds.lo]. Throws xbarmc::Error for empty or
/// unequal samples, NaN or out-of-range values; InvalidConfig for a bad p or confidence.
PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b, std::uint64_t seed,
                                   const std::vector<double>& ps = {0.01, 0.05, 0.5, 0.95}, double confidence = 0.95,
                                   Interval bounds = {0.0, 1.0});

/// JSON of a paired difference: n, mean, mean_ci95, p01, p01_ci95, ... (the suffix
/// follows the confidence), confidence, resamples, and the interval methods.
nlohmann::json to_json(const PairedDifference& d);

}  // namespace xbarmc::stats
