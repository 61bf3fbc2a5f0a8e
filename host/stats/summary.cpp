#include "xbarmc/stats/summary.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarmc/errors.hpp"

namespace xbarmc::stats {

namespace {

Histogram make_histogram(const std::vector<double>& sorted, int bins) {
  Histogram h{sorted.front(), sorted.back(), {}};
  if (!(h.hi > h.lo)) {
    h.counts.assign(1, static_cast<std::int64_t>(sorted.size()));
    return h;
  }
  h.counts.assign(static_cast<std::size_t>(bins), 0);
  const double scale = bins / (h.hi - h.lo);
  for (double v : sorted) {
    const auto i = static_cast<std::int64_t>(std::floor((v - h.lo) * scale));
    ++h.counts[static_cast<std::size_t>(std::clamp<std::int64_t>(i, 0, bins - 1))];
  }
  return h;
}

nlohmann::json interval_json(Interval i) { return nlohmann::json::array({i.lo, i.hi}); }

}  // namespace

Summary summarize(const std::vector<double>& x, Interval bounds, const std::vector<double>& ps, double confidence,
                  int bins) {
  check_confidence(confidence);
  for (double p : ps) check_probability(p);
  if (bins < 1) throw InvalidConfig(fmt::format("histogram bins must be at least 1, got {}", bins));
  check_sample(x, bounds);

  std::vector<double> sorted(x);
  std::sort(sorted.begin(), sorted.end());
  Summary s{};
  s.n = static_cast<std::int64_t>(x.size());
  s.confidence = confidence;
  s.bounds = bounds;
  s.min = sorted.front();
  s.max = sorted.back();

  // Two passes in long double: accurate even when every value is close to the mean.
  long double sum = 0.0L;
  for (double v : x) sum += v;
  const long double mean = sum / static_cast<long double>(s.n);
  long double ss = 0.0L;
  for (double v : x) ss += (v - mean) * (v - mean);
  s.mean = std::clamp(static_cast<double>(mean), s.min, s.max);
  s.std = s.n >= 2 ? static_cast<double>(std::sqrt(ss / static_cast<long double>(s.n - 1)))
                   : std::numeric_limits<double>::quiet_NaN();
  s.mean_ci = mean_interval(s.mean, s.std, s.n, confidence, bounds);

  s.quantiles.reserve(ps.size());
  for (double p : ps) s.quantiles.push_back(quantile_estimate(sorted, p, confidence, bounds));
  s.histogram = make_histogram(sorted, bins);
  return s;
}

nlohmann::json to_json(const Summary& s) {
  const std::string ci = ci_name(s.confidence);
  nlohmann::json j;
  j["n"] = s.n;
  j["mean"] = s.mean;
  j["std"] = s.std;
  j["min"] = s.min;
  j["max"] = s.max;
  for (const auto& q : s.quantiles) j[percentile_name(q.p)] = q.value;
  j["mean_" + ci] = interval_json(s.mean_ci);
  for (const auto& q : s.quantiles) j[percentile_name(q.p) + "_" + ci] = interval_json(q.ci);
  j["confidence"] = s.confidence;
  j["histogram"] = {{"lo", s.histogram.lo}, {"hi", s.histogram.hi}, {"counts", s.histogram.counts}};
  return j;
}

nlohmann::json to_json_drop(const Summary& s, double reference) {
  if (!std::isfinite(reference)) throw Error(fmt::format("drop against a reference of {}", reference));
  const std::string ci = ci_name(s.confidence);
  const auto mirrored = [&](Interval i) { return interval_json(Interval{reference - i.hi, reference - i.lo}); };
  nlohmann::json j;
  j["reference"] = reference;
  j["mean_drop"] = reference - s.mean;
  j["mean_drop_" + ci] = mirrored(s.mean_ci);
  for (const auto& q : s.quantiles) {
    j[percentile_name(q.p) + "_drop"] = reference - q.value;
    j[percentile_name(q.p) + "_drop_" + ci] = mirrored(q.ci);
  }
  j["min_drop"] = reference - s.min;
  j["max_drop"] = reference - s.max;
  return j;
}

}  // namespace xbarmc::stats
