#include "xbarmc/stats/intervals.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/students_t.hpp>

#include "xbarmc/errors.hpp"

namespace xbarmc::stats {

namespace {

// A binomial tail equal to alpha/2 up to rounding still counts as within it, so
// hand-computed boundary cases do not flip on the last bit of a CDF.
constexpr double tail_slack = 1e-12;

}  // namespace

void check_sample(const std::vector<double>& x, Interval bounds, const std::string& what) {
  if (std::isnan(bounds.lo) || std::isnan(bounds.hi) || !(bounds.lo <= bounds.hi)) {
    throw InvalidConfig(fmt::format("{}: bounds [{}, {}] are not an interval", what, bounds.lo, bounds.hi));
  }
  if (x.empty()) throw Error(fmt::format("{} is empty: there are no values to summarize", what));
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) throw Error(fmt::format("{}: value {} (0-based) is NaN", what, i));
    if (!std::isfinite(x[i])) throw Error(fmt::format("{}: value {} (0-based) is {}", what, i, x[i]));
    if (x[i] < bounds.lo || x[i] > bounds.hi) {
      throw Error(fmt::format("{}: value {} (0-based) is {}, outside the range [{}, {}] such values can take", what, i,
                              x[i], bounds.lo, bounds.hi));
    }
  }
}

void check_confidence(double confidence) {
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw InvalidConfig(
        fmt::format("confidence level must lie strictly between 0 and 1 (0.95 for 95%), got {}", confidence));
  }
}

void check_probability(double p) {
  if (!(p > 0.0 && p < 1.0)) {
    throw InvalidConfig(
        fmt::format("a quantile's probability must lie strictly between 0 and 1 (0.05 for p05), got {}", p));
  }
}

std::int64_t quantile_rank(std::int64_t n, double p) {
  const double r = static_cast<double>(n) * p;
  // 100 * 0.07 = 7.000000000000001 in binary: the intended rank is 7, not 8.
  const auto k = static_cast<std::int64_t>(std::ceil(r - 1e-9 * std::max(1.0, r)));
  return std::clamp<std::int64_t>(k, 1, n);
}

RankInterval quantile_ci_ranks(std::int64_t n, double p, double confidence) {
  if (n < 1) throw Error("quantile interval of an empty sample");
  check_probability(p);
  check_confidence(confidence);
  const double half_alpha = (1.0 - confidence) / 2.0 * (1.0 + tail_slack);
  const boost::math::binomial_distribution<double> bin(static_cast<double>(n), p);
  // P(B <= k) and P(B >= k) with B ~ Bin(n, p), the number of values below the quantile.
  const auto cdf = [&](std::int64_t k) { return boost::math::cdf(bin, static_cast<double>(k)); };
  const auto sf_from = [&](std::int64_t k) {
    return k <= 0 ? 1.0 : boost::math::cdf(boost::math::complement(bin, static_cast<double>(k - 1)));
  };

  // Largest l in [0, n] with l == 0 or P(B <= l - 1) <= alpha/2 (the CDF grows with l).
  std::int64_t lo = 0, hi = n;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    if (cdf(mid - 1) <= half_alpha) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  const std::int64_t lower = lo;

  // Smallest u in [1, n + 1] with u == n + 1 or P(B >= u) <= alpha/2 (the tail shrinks with u).
  lo = 1;
  hi = n + 1;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (sf_from(mid) <= half_alpha) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  const std::int64_t upper = lo;

  RankInterval r{lower, upper, 0.0, 0.0};
  r.miss_below = lower >= 1 ? cdf(lower - 1) : 0.0;
  r.miss_above = upper <= n ? sf_from(upper) : 0.0;
  return r;
}

QuantileEstimate quantile_estimate(const std::vector<double>& sorted, double p, double confidence, Interval bounds) {
  const auto n = static_cast<std::int64_t>(sorted.size());
  const RankInterval ranks = quantile_ci_ranks(n, p, confidence);
  QuantileEstimate q{};
  q.p = p;
  q.rank = quantile_rank(n, p);
  q.value = sorted[static_cast<std::size_t>(q.rank - 1)];
  q.lower_rank = ranks.lower;
  q.upper_rank = ranks.upper;
  q.ci.lo = ranks.lower >= 1 ? sorted[static_cast<std::size_t>(ranks.lower - 1)] : bounds.lo;
  q.ci.hi = ranks.upper <= n ? sorted[static_cast<std::size_t>(ranks.upper - 1)] : bounds.hi;
  return q;
}

std::int64_t min_n_for_quantile_side(double p, double confidence, bool lower_side) {
  check_probability(p);
  check_confidence(confidence);
  // The lower limit exists once P(no value below the quantile) = (1 - p)^n <= alpha/2;
  // the upper one once p^n <= alpha/2.
  const double half_alpha = (1.0 - confidence) / 2.0 * (1.0 + tail_slack);
  const double q = lower_side ? 1.0 - p : p;
  auto n = static_cast<std::int64_t>(std::ceil(std::log(half_alpha) / std::log(q)));
  n = std::max<std::int64_t>(n, 1);
  while (std::pow(q, static_cast<double>(n)) > half_alpha) ++n;
  while (n > 1 && std::pow(q, static_cast<double>(n - 1)) <= half_alpha) --n;
  return n;
}

Interval mean_interval(double mean, double sd, std::int64_t n, double confidence, Interval bounds) {
  check_confidence(confidence);
  if (n < 2) return bounds;
  const boost::math::students_t_distribution<double> t(static_cast<double>(n - 1));
  const double tq = boost::math::quantile(boost::math::complement(t, (1.0 - confidence) / 2.0));
  const double half = tq * sd / std::sqrt(static_cast<double>(n));
  return Interval{std::max(mean - half, bounds.lo), std::min(mean + half, bounds.hi)};
}

std::string ci_name(double confidence) { return "ci" + fmt::format("{:.6g}", confidence * 100.0); }

std::string percentile_name(double p) {
  const double v = p * 100.0;
  const double r = std::round(v);
  if (std::abs(v - r) < 1e-9 && r >= 0.0 && r < 100.0) return fmt::format("p{:02d}", static_cast<int>(r));
  return "p" + fmt::format("{:.6g}", v);
}

}  // namespace xbarmc::stats
