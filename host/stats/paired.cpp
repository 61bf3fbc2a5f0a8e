#include "xbarmc/stats/paired.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarmc/errors.hpp"
#include "xbarmc/rng/counter.hpp"

namespace xbarmc::stats {

namespace {

// Indices that sort x ascending (stable, so ties keep trial order and results never
// depend on the sort implementation).
std::vector<std::uint32_t> ascending_order(const std::vector<double>& x) {
  std::vector<std::uint32_t> order(x.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t i, std::uint32_t j) { return x[i] < x[j]; });
  return order;
}

// Type-1 quantiles of a resample given as multiplicities of the original trials:
// walks the trials in ascending order of x until the running count reaches each rank.
// `ranks` is ascending; writes one value per rank.
void resample_quantiles(const std::vector<double>& x, const std::vector<std::uint32_t>& order,
                        const std::vector<std::uint32_t>& count, const std::vector<std::int64_t>& ranks,
                        std::vector<double>& out) {
  std::size_t next = 0;
  std::int64_t cum = 0;
  for (std::uint32_t i : order) {
    cum += count[i];
    while (next < ranks.size() && cum >= ranks[next]) out[next++] = x[i];
    if (next == ranks.size()) return;
  }
}

nlohmann::json interval_json(Interval i) { return nlohmann::json::array({i.lo, i.hi}); }

}  // namespace

PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b, std::uint64_t seed,
                                   const std::vector<double>& ps, double confidence, Interval bounds) {
  check_confidence(confidence);
  for (double p : ps) check_probability(p);
  check_sample(a, bounds, "first arm");
  check_sample(b, bounds, "second arm");
  if (a.size() != b.size()) {
    throw Error(fmt::format("paired arms must hold the same trials: {} values against {}", a.size(), b.size()));
  }
  if (a.size() >= (std::size_t{1} << 32)) throw Error("paired bootstrap: more than 2^32 trials");
  const auto n = static_cast<std::int64_t>(a.size());
  const Interval diff_bounds{bounds.lo - bounds.hi, bounds.hi - bounds.lo};

  PairedDifference d{};
  d.n = n;
  d.confidence = confidence;
  d.resamples = bootstrap_resamples;

  // The mean of the differences, with a t interval on the per-trial differences.
  long double sum = 0.0L;
  for (std::int64_t i = 0; i < n; ++i) sum += static_cast<long double>(b[i]) - a[i];
  const long double mean = sum / static_cast<long double>(n);
  long double ss = 0.0L;
  for (std::int64_t i = 0; i < n; ++i) {
    const long double e = static_cast<long double>(b[i]) - a[i] - mean;
    ss += e * e;
  }
  d.mean = static_cast<double>(mean);
  const double sd = n >= 2 ? static_cast<double>(std::sqrt(ss / static_cast<long double>(n - 1))) : 0.0;
  d.mean_ci = mean_interval(d.mean, sd, n, confidence, diff_bounds);
  if (ps.empty()) return d;

  // Quantile differences on the full sample; ranks ascending for the resample walk.
  std::vector<std::size_t> by_p(ps.size());
  std::iota(by_p.begin(), by_p.end(), std::size_t{0});
  std::stable_sort(by_p.begin(), by_p.end(), [&](std::size_t i, std::size_t j) { return ps[i] < ps[j]; });
  std::vector<std::int64_t> ranks(ps.size());
  for (std::size_t k = 0; k < ps.size(); ++k) ranks[k] = quantile_rank(n, ps[by_p[k]]);
  const auto order_a = ascending_order(a);
  const auto order_b = ascending_order(b);
  std::vector<std::uint32_t> ones(a.size(), 1u);
  std::vector<double> qa(ps.size()), qb(ps.size());
  resample_quantiles(a, order_a, ones, ranks, qa);
  resample_quantiles(b, order_b, ones, ranks, qb);

  // Bootstrap: resample r draws trial indices from Philox words at (bootstrap, trial = r,
  // element = j / 4); an index is floor(u n / 2^32) (bias below n / 2^32).
  std::vector<std::vector<double>> reps(ps.size(), std::vector<double>(bootstrap_resamples));
  std::vector<std::uint32_t> count(a.size());
  std::vector<double> ra(ps.size()), rb(ps.size());
  const auto n32 = static_cast<std::uint64_t>(n);
  for (int r = 0; r < bootstrap_resamples; ++r) {
    std::fill(count.begin(), count.end(), 0u);
    for (std::int64_t j = 0; j < n; j += 4) {
      const rng::Block blk = rng::draw_block(seed, rng::Purpose::bootstrap, static_cast<std::uint32_t>(r), 0, 0,
                                             static_cast<std::uint32_t>(j / 4));
      for (std::int64_t w = 0; w < 4 && j + w < n; ++w) ++count[(blk.v[w] * n32) >> 32];
    }
    resample_quantiles(a, order_a, count, ranks, ra);
    resample_quantiles(b, order_b, count, ranks, rb);
    for (std::size_t k = 0; k < ps.size(); ++k) reps[k][static_cast<std::size_t>(r)] = rb[k] - ra[k];
  }

  // Percentile interval: the replicates of ranks ceil(B alpha/2) and B + 1 - ceil(B alpha/2).
  const double half_alpha = (1.0 - confidence) / 2.0;
  const auto j_lo = std::clamp<std::int64_t>(
      static_cast<std::int64_t>(std::ceil(bootstrap_resamples * half_alpha - 1e-9)), 1, bootstrap_resamples);
  const std::int64_t j_hi = bootstrap_resamples + 1 - j_lo;
  d.quantiles.resize(ps.size());
  for (std::size_t k = 0; k < ps.size(); ++k) {
    auto& rep = reps[k];
    std::sort(rep.begin(), rep.end());
    QuantileEstimate& q = d.quantiles[by_p[k]];
    q.p = ps[by_p[k]];
    q.value = qb[k] - qa[k];
    q.ci = Interval{rep[static_cast<std::size_t>(j_lo - 1)], rep[static_cast<std::size_t>(j_hi - 1)]};
    q.rank = ranks[k];
    q.lower_rank = 0;
    q.upper_rank = 0;
  }
  return d;
}

nlohmann::json to_json(const PairedDifference& d) {
  const std::string ci = ci_name(d.confidence);
  nlohmann::json j;
  j["n"] = d.n;
  j["mean"] = d.mean;
  j["mean_" + ci] = interval_json(d.mean_ci);
  for (const auto& q : d.quantiles) {
    j[percentile_name(q.p)] = q.value;
    j[percentile_name(q.p) + "_" + ci] = interval_json(q.ci);
  }
  j["confidence"] = d.confidence;
  j["resamples"] = d.resamples;
  j["mean_ci_method"] = "paired Student t";
  j["quantile_ci_method"] = "paired percentile bootstrap";
  return j;
}

}  // namespace xbarmc::stats
