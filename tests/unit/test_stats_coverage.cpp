// Coverage simulations (issue #5, item 8): draw many replicate samples from
// distributions with a known mean and known quantiles and count how often each
// interval covers the truth. Draws come from Philox (Purpose::test), so the rates are
// the same on every run; they are printed for docs/statistics.md.
//
// Tolerances: with R replications a rate has binomial standard error sqrt(c (1 - c) / R)
// around its true value c; we allow 4 standard errors (a false alarm about 1 in 16000
// per check). For continuous distributions the order-statistic interval's coverage is
// exactly the binomial sum 1 - miss_below - miss_above (RankInterval), so the measured
// rate is checked against that value from both sides; for the discrete distribution
// (ties) the interval may only over-cover, so the check is one-sided.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/normal.hpp>

#include "xbarmc/rng/counter.hpp"
#include "xbarmc/rng/distributions.hpp"
#include "xbarmc/stats/paired.hpp"
#include "xbarmc/stats/summary.hpp"

using namespace xbarmc;
using namespace xbarmc::stats;

namespace {

constexpr std::uint64_t seed = 20240505;
constexpr double confidence = 0.95;
const std::vector<double> ps{0.01, 0.05, 0.5, 0.95};

// A stream of Philox words at (test, trial = replicate, layer = distribution, tile = case).
class Stream {
 public:
  Stream(std::uint32_t rep, std::uint32_t dist, std::uint32_t which) : rep_(rep), dist_(dist), which_(which) {}
  std::uint32_t word() {
    if (used_ == 4) {
      block_ = rng::draw_block(seed, rng::Purpose::test, rep_, dist_, which_, element_++);
      used_ = 0;
    }
    return block_.v[used_++];
  }
  double uniform() {
    const std::uint32_t hi = word();
    return rng::u01d(hi, word());
  }
  double normal() {
    const std::uint32_t a = word();
    return rng::normal(a, word());
  }

 private:
  std::uint32_t rep_, dist_, which_, element_ = 0, used_ = 4;
  rng::Block block_{};
};

struct Distribution {
  std::string name;
  std::function<double(Stream&)> draw;
  double mean;
  std::function<double(double)> quantile;  // the true p-quantile inf{x : F(x) >= p}
  Interval bounds;
  bool continuous;
};

std::vector<Distribution> distributions() {
  std::vector<Distribution> d;
  const double inf = std::numeric_limits<double>::infinity();
  // Normal(0.9, 0.02), unbounded.
  d.push_back({"normal(0.9, 0.02)",
               [](Stream& s) { return 0.9 + 0.02 * s.normal(); },
               0.9,
               [](double p) { return 0.9 + 0.02 * boost::math::quantile(boost::math::normal_distribution<>(), p); },
               {-inf, inf},
               true});
  // Beta(8, 2): skewed to the left like an accuracy, mean 0.8; G8 / (G8 + G2) with
  // Gamma(k) = -sum of k log-uniforms.
  d.push_back({"beta(8, 2)",
               [](Stream& s) {
                 double g8 = 0.0, g2 = 0.0;
                 for (int i = 0; i < 8; ++i) g8 -= std::log(s.uniform());
                 for (int i = 0; i < 2; ++i) g2 -= std::log(s.uniform());
                 return g8 / (g8 + g2);
               },
               0.8,
               [](double p) { return boost::math::quantile(boost::math::beta_distribution<>(8, 2), p); },
               {0.0, 1.0},
               true});
  // Binomial(100, 0.9) / 100: the accuracy on 100 images of a chip with a true accuracy of
  // 0.9 (many ties), by inversion of its CDF table.
  auto cdf = std::make_shared<std::vector<double>>();
  const boost::math::binomial_distribution<> bin(100, 0.9);
  for (int k = 0; k <= 100; ++k) cdf->push_back(boost::math::cdf(bin, k));
  cdf->back() = 1.0;
  const auto inverse = [cdf](double u) {
    return static_cast<double>(std::lower_bound(cdf->begin(), cdf->end(), u) - cdf->begin()) / 100.0;
  };
  d.push_back({"binomial(100, 0.9)/100",
               [inverse](Stream& s) { return inverse(s.uniform()); },
               0.9,
               inverse,
               {0.0, 1.0},
               false});
  return d;
}

double se(double c, int reps) { return std::sqrt(c * (1.0 - c) / reps); }

}  // namespace

TEST(StatsCoverage, MeanAndQuantileIntervals) {
  const int reps = 2000;
  const double tol_nominal = 4 * se(confidence, reps);
  const double half_alpha = (1 - confidence) / 2;
  std::printf("coverage of 95%% intervals, %d replications each (4 SE of 0.95 = %.4f)\n", reps, tol_nominal);
  std::printf("%-24s %5s %6s | %-28s | %-28s | %-28s | %-28s\n", "distribution", "n", "mean",
              "p01 cov (exact) lo/hi miss", "p05", "p50", "p95");
  const auto dists = distributions();
  for (std::uint32_t di = 0; di < dists.size(); ++di) {
    const Distribution& dist = dists[di];
    for (std::uint32_t ni = 0; ni < 3; ++ni) {
      const int n = ni == 0 ? 30 : ni == 1 ? 100 : 1000;
      int mean_cover = 0;
      std::vector<int> cover(ps.size()), below(ps.size()), above(ps.size());
      std::vector<double> x(static_cast<std::size_t>(n));
      for (int r = 0; r < reps; ++r) {
        Stream s(static_cast<std::uint32_t>(r), di, ni);
        for (double& v : x) v = dist.draw(s);
        const Summary sum = summarize(x, dist.bounds, ps, confidence);
        mean_cover += sum.mean_ci.lo <= dist.mean && dist.mean <= sum.mean_ci.hi;
        for (std::size_t k = 0; k < ps.size(); ++k) {
          const double truth = dist.quantile(ps[k]);
          const Interval ci = sum.quantiles[k].ci;
          below[k] += ci.lo > truth;  // the interval lies above the truth
          above[k] += ci.hi < truth;  // the interval lies below the truth
          cover[k] += ci.lo <= truth && truth <= ci.hi;
        }
      }
      SCOPED_TRACE(::testing::Message() << dist.name << " n " << n);
      const double mean_rate = static_cast<double>(mean_cover) / reps;
      EXPECT_NEAR(mean_rate, confidence, tol_nominal) << "mean";
      std::printf("%-24s %5d %6.4f", dist.name.c_str(), n, mean_rate);
      for (std::size_t k = 0; k < ps.size(); ++k) {
        const RankInterval ranks = quantile_ci_ranks(n, ps[k], confidence);
        const double rate = static_cast<double>(cover[k]) / reps;
        const double miss_lo = static_cast<double>(below[k]) / reps;
        const double miss_hi = static_cast<double>(above[k]) / reps;
        std::printf(" | %.4f (%.4f) %.4f/%.4f", rate, ranks.coverage(), miss_lo, miss_hi);
        SCOPED_TRACE(::testing::Message() << "p " << ps[k]);
        EXPECT_GE(rate, confidence - tol_nominal);
        // Each side misses at most its binomial tail (<= alpha/2): ties only lower it.
        EXPECT_LE(miss_lo, ranks.miss_below + 4 * se(std::max(ranks.miss_below, 1.0 / reps), reps));
        EXPECT_LE(miss_hi, ranks.miss_above + 4 * se(std::max(ranks.miss_above, 1.0 / reps), reps));
        EXPECT_LE(ranks.miss_below, half_alpha + 1e-12);
        EXPECT_LE(ranks.miss_above, half_alpha + 1e-12);
        if (dist.continuous) {
          // Exact for continuous distributions: the measured rates match the binomial sums.
          EXPECT_NEAR(rate, ranks.coverage(), 4 * se(ranks.coverage(), reps) + 1e-12);
          EXPECT_NEAR(miss_lo, ranks.miss_below, 4 * se(ranks.miss_below, reps) + 1e-12);
          EXPECT_NEAR(miss_hi, ranks.miss_above, 4 * se(ranks.miss_above, reps) + 1e-12);
        }
      }
      std::printf("\n");
    }
  }
}

TEST(StatsCoverage, PairedDifferences) {
  // Arm a ~ Normal(0.9, 0.02) per chip; arm b = a - 0.01 + 0.01 z' (same chip, its own
  // extra error), so b ~ Normal(0.89, sqrt(0.02^2 + 0.01^2)) and the true differences are
  // mean -0.01 and Q_p(b) - Q_p(a) = -0.01 + (sqrt(0.0005) - 0.02) z_p.
  //
  // The paired t interval is exact here (normal differences): two-sided 4 SE check. The
  // percentile bootstrap is asymptotic; it is checked where each arm has at least 5 values
  // beyond the quantile (n min(p, 1 - p) >= 5): coverage >= nominal - 4 SE (it over-covers,
  // as bootstrap intervals of quantiles are known to), and its mean width over 2 z(0.975)
  // times the spread of the estimates across replications must lie in [0.8, 1.5]. Theory
  // gives 1 as n grows; resampling the arms independently would give about
  // sqrt((0.02^2 + sqrt(0.0005)^2) / Var(diff) n) = 1.8 at p50 in this design (indicator
  // correlation 1/4 + asin(0.894) / (2 pi) = 0.426), so the upper limit catches broken pairing.
  const double sd_b = std::sqrt(0.02 * 0.02 + 0.01 * 0.01);
  const double inf = std::numeric_limits<double>::infinity();
  const double z = boost::math::quantile(boost::math::normal_distribution<>(), 0.975);
  const boost::math::normal_distribution<> std_normal;
  std::printf("coverage of paired 95%% intervals (t for the mean, percentile bootstrap of %d for quantiles)\n",
              bootstrap_resamples);
  std::printf("%5s %6s | %5s %6s %6s %6s %6s | width / (2 z sd): %5s %5s %5s %5s\n", "n", "mean", "reps", "p01", "p05",
              "p50", "p95", "p01", "p05", "p50", "p95");
  for (std::uint32_t ni = 0; ni < 3; ++ni) {
    const int n = ni == 0 ? 30 : ni == 1 ? 100 : 1000;
    const int mean_reps = 2000;
    const int reps = ni == 2 ? 200 : 500;  // the bootstrap costs 2000 resamples per replication
    int mean_cover = 0;
    std::vector<int> cover(ps.size());
    std::vector<std::vector<double>> est(ps.size()), width(ps.size());
    std::vector<double> a(static_cast<std::size_t>(n)), b(a.size());
    for (int r = 0; r < mean_reps; ++r) {
      Stream s(static_cast<std::uint32_t>(r), 10, ni);
      for (std::size_t i = 0; i < a.size(); ++i) {
        a[i] = 0.9 + 0.02 * s.normal();
        b[i] = a[i] - 0.01 + 0.01 * s.normal();
      }
      const bool boot = r < reps;
      const PairedDifference d = paired_difference(a, b, static_cast<std::uint64_t>(r),
                                                   boot ? ps : std::vector<double>{}, confidence, {-inf, inf});
      mean_cover += d.mean_ci.lo <= -0.01 && -0.01 <= d.mean_ci.hi;
      if (!boot) continue;
      for (std::size_t k = 0; k < ps.size(); ++k) {
        const double truth = -0.01 + (sd_b - 0.02) * boost::math::quantile(std_normal, ps[k]);
        const QuantileEstimate& q = d.quantiles[k];
        cover[k] += q.ci.lo <= truth && truth <= q.ci.hi;
        est[k].push_back(q.value);
        width[k].push_back(q.ci.hi - q.ci.lo);
      }
    }
    const double mean_rate = static_cast<double>(mean_cover) / mean_reps;
    std::printf("%5d %6.4f | %5d", n, mean_rate, reps);
    std::vector<double> ratio(ps.size());
    for (std::size_t k = 0; k < ps.size(); ++k) {
      double m = 0, w = 0, v = 0;
      for (std::size_t r = 0; r < est[k].size(); ++r) m += est[k][r], w += width[k][r];
      m /= reps;
      w /= reps;
      for (double e : est[k]) v += (e - m) * (e - m);
      ratio[k] = w / (2 * z * std::sqrt(v / (reps - 1)));
      std::printf(" %6.4f", static_cast<double>(cover[k]) / reps);
    }
    std::printf(" |                  ");
    for (double q : ratio) std::printf(" %5.2f", q);
    std::printf("\n");
    SCOPED_TRACE(::testing::Message() << "n " << n);
    EXPECT_NEAR(mean_rate, confidence, 4 * se(confidence, mean_reps));
    for (std::size_t k = 0; k < ps.size(); ++k) {
      if (n * std::min(ps[k], 1 - ps[k]) < 5) continue;
      SCOPED_TRACE(::testing::Message() << "p " << ps[k]);
      EXPECT_GE(static_cast<double>(cover[k]) / reps, confidence - 4 * se(confidence, reps));
      EXPECT_GE(ratio[k], 0.8);
      EXPECT_LE(ratio[k], 1.5);
    }
  }
}
