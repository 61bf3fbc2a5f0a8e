// Hand-checked cases of the summary statistics: quantile ranks, the ranks of the
// order-statistic intervals (binomial tails worked out by hand for n = 5, 10, 100),
// the Student-t interval, the histogram, input checks and the JSON layout.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarmc/errors.hpp"
#include "xbarmc/stats/intervals.hpp"
#include "xbarmc/stats/summary.hpp"

using namespace xbarmc;
using namespace xbarmc::stats;

namespace {

// P(Bin(n, p) <= k) by summing the pmf with the ratio recurrence, in long double: an
// implementation independent of Boost's incomplete beta.
double binom_cdf(int n, double p, int k) {
  if (k < 0) return 0.0;
  long double pmf = std::pow(1.0L - p, n), cdf = 0.0L;
  for (int i = 0; i <= k && i <= n; ++i) {
    cdf += pmf;
    pmf *= static_cast<long double>(n - i) / (i + 1) * p / (1.0L - p);
  }
  return static_cast<double>(cdf);
}

}  // namespace

TEST(StatsQuantile, RankIsCeilNP) {
  EXPECT_EQ(quantile_rank(10, 0.5), 5);
  EXPECT_EQ(quantile_rank(10, 0.05), 1);
  EXPECT_EQ(quantile_rank(10, 0.95), 10);  // ceil(9.5)
  EXPECT_EQ(quantile_rank(5, 0.5), 3);     // ceil(2.5)
  EXPECT_EQ(quantile_rank(5, 0.01), 1);
  EXPECT_EQ(quantile_rank(30, 0.95), 29);  // ceil(28.5)
  EXPECT_EQ(quantile_rank(100, 0.05), 5);
  EXPECT_EQ(quantile_rank(100, 0.07), 7);  // 100 * 0.07 = 7.000000000000001 in binary
  EXPECT_EQ(quantile_rank(1, 0.99), 1);
}

// Ranks worked out by hand from Bin(n, p) tails, alpha/2 = 0.025 unless stated.
TEST(StatsQuantile, HandCheckedRanksN10) {
  // Bin(10, 0.5): P(B <= 1) = 11/1024 = 0.0107 <= 0.025 < P(B <= 2) = 56/1024; P(B >= 9) = 11/1024.
  RankInterval r = quantile_ci_ranks(10, 0.5, 0.95);
  EXPECT_EQ(r.lower, 2);
  EXPECT_EQ(r.upper, 9);
  EXPECT_NEAR(r.miss_below, 11.0 / 1024, 1e-15);
  EXPECT_NEAR(r.miss_above, 11.0 / 1024, 1e-15);
  EXPECT_NEAR(r.coverage(), 1002.0 / 1024, 1e-15);
  // Bin(10, 0.05): P(B = 0) = 0.95^10 = 0.599 > 0.025, so no lower limit;
  // P(B >= 2) = 0.0861 > 0.025 >= P(B >= 3) = 1 - 0.598737 - 0.315125 - 0.074635 = 0.011504.
  r = quantile_ci_ranks(10, 0.05, 0.95);
  EXPECT_EQ(r.lower, 0);
  EXPECT_EQ(r.upper, 3);
  EXPECT_NEAR(r.miss_below, 0.0, 0.0);
  EXPECT_NEAR(r.miss_above, 0.0115036, 1e-7);
  // Mirror image for p = 0.95: P(B <= 7) = 0.011504, no upper limit.
  r = quantile_ci_ranks(10, 0.95, 0.95);
  EXPECT_EQ(r.lower, 8);
  EXPECT_EQ(r.upper, 11);
  EXPECT_NEAR(r.miss_below, 0.0115036, 1e-7);
  // Bin(10, 0.01): P(B >= 1) = 0.0956, P(B >= 2) = 1 - 0.904382 - 0.091352 = 0.004266.
  r = quantile_ci_ranks(10, 0.01, 0.95);
  EXPECT_EQ(r.lower, 0);
  EXPECT_EQ(r.upper, 2);
  EXPECT_NEAR(r.miss_above, 0.0042662, 1e-7);
}

TEST(StatsQuantile, HandCheckedRanksN5) {
  // Bin(5, 0.5): P(B = 0) = P(B = 5) = 1/32 = 0.03125 > 0.025: no 95% interval from 5 values.
  RankInterval r = quantile_ci_ranks(5, 0.5, 0.95);
  EXPECT_EQ(r.lower, 0);
  EXPECT_EQ(r.upper, 6);
  EXPECT_DOUBLE_EQ(r.coverage(), 1.0);
  // At 90% (alpha/2 = 0.05) the extremes qualify: coverage 1 - 2/32.
  r = quantile_ci_ranks(5, 0.5, 0.90);
  EXPECT_EQ(r.lower, 1);
  EXPECT_EQ(r.upper, 5);
  EXPECT_NEAR(r.coverage(), 30.0 / 32, 1e-15);
  // Bin(5, 0.05): 0.95^5 = 0.773781, 5 * 0.05 * 0.95^4 = 0.203627, so P(B >= 2) = 0.022593 <= 0.025.
  r = quantile_ci_ranks(5, 0.05, 0.95);
  EXPECT_EQ(r.lower, 0);
  EXPECT_EQ(r.upper, 2);
  EXPECT_NEAR(r.miss_above, 0.0225925, 1e-7);
  r = quantile_ci_ranks(5, 0.95, 0.95);
  EXPECT_EQ(r.lower, 4);
  EXPECT_EQ(r.upper, 6);
}

TEST(StatsQuantile, HandCheckedRanksN100) {
  // Bin(100, 0.05): P(B <= 0) = 0.00592, P(B <= 1) = 0.03708; P(B >= 10) = 0.0282, P(B >= 11) = 0.01147.
  const RankInterval r = quantile_ci_ranks(100, 0.05, 0.95);
  EXPECT_EQ(r.lower, 1);
  EXPECT_EQ(r.upper, 11);
  EXPECT_NEAR(r.miss_below, std::pow(0.95, 100), 1e-15);
}

// For every n up to 120 and several p: the ranks are the tightest equal-tailed pair,
// checked against an independent binomial CDF, and contain the point estimate's rank.
TEST(StatsQuantile, RanksAreTightestEqualTailed) {
  for (double conf : {0.9, 0.95, 0.99}) {
    const double half = (1 - conf) / 2;
    for (int n = 1; n <= 120; ++n) {
      for (double p : {0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.95, 0.99}) {
        const RankInterval r = quantile_ci_ranks(n, p, conf);
        SCOPED_TRACE(::testing::Message() << "n " << n << " p " << p << " conf " << conf);
        ASSERT_GE(r.lower, 0);
        ASSERT_LE(r.upper, n + 1);
        const std::int64_t k = quantile_rank(n, p);
        EXPECT_LE(r.lower, k);
        EXPECT_GE(r.upper, k);
        // Lower: P(B <= lower - 1) <= alpha/2 < P(B <= lower).
        if (r.lower >= 1) {
          EXPECT_LE(binom_cdf(n, p, static_cast<int>(r.lower) - 1), half + 1e-12);
        }
        if (r.lower < n) {
          EXPECT_GT(binom_cdf(n, p, static_cast<int>(r.lower)), half - 1e-12);
        }
        // Upper: P(B >= upper) <= alpha/2 < P(B >= upper - 1).
        if (r.upper <= n) {
          EXPECT_LE(1 - binom_cdf(n, p, static_cast<int>(r.upper) - 1), half + 1e-12);
        }
        if (r.upper >= 2) {
          EXPECT_GT(1 - binom_cdf(n, p, static_cast<int>(r.upper) - 2), half - 1e-12);
        }
        EXPECT_GE(r.coverage(), conf - 1e-12);
      }
    }
  }
}

TEST(StatsQuantile, MinimumTrialsForEachSide) {
  // (1 - 0.01)^n <= 0.025 from n = ceil(ln 0.025 / ln 0.99) = ceil(367.04) = 368.
  EXPECT_EQ(min_n_for_quantile_side(0.01, 0.95, true), 368);
  EXPECT_EQ(quantile_ci_ranks(367, 0.01, 0.95).lower, 0);
  EXPECT_EQ(quantile_ci_ranks(368, 0.01, 0.95).lower, 1);
  // 0.95^72 = 0.0249 <= 0.025 < 0.95^71 = 0.0262.
  EXPECT_EQ(min_n_for_quantile_side(0.05, 0.95, true), 72);
  EXPECT_EQ(quantile_ci_ranks(71, 0.05, 0.95).lower, 0);
  EXPECT_EQ(quantile_ci_ranks(72, 0.05, 0.95).lower, 1);
  // The median needs 0.5^n <= 0.025: n = 6 on each side.
  EXPECT_EQ(min_n_for_quantile_side(0.5, 0.95, true), 6);
  EXPECT_EQ(min_n_for_quantile_side(0.5, 0.95, false), 6);
  EXPECT_EQ(min_n_for_quantile_side(0.95, 0.95, false), 72);
  EXPECT_EQ(quantile_ci_ranks(72, 0.95, 0.95).upper, 72);
  EXPECT_EQ(quantile_ci_ranks(71, 0.95, 0.95).upper, 72);  // n + 1: the bound
}

TEST(StatsSummary, HandCheckedQuantilesWithTies) {
  // Sorted: 0.85 0.85 0.88 0.89 0.90 | 0.91 0.93 0.95 0.97 0.99 (n = 10, a tie at the bottom).
  const std::vector<double> x{0.91, 0.85, 0.97, 0.88, 0.93, 0.85, 0.90, 0.95, 0.99, 0.89};
  const Summary s = summarize(x);
  ASSERT_EQ(s.quantiles.size(), 4u);
  const QuantileEstimate& p01 = s.quantiles[0];
  const QuantileEstimate& p05 = s.quantiles[1];
  const QuantileEstimate& p50 = s.quantiles[2];
  const QuantileEstimate& p95 = s.quantiles[3];
  EXPECT_DOUBLE_EQ(p50.value, 0.90);  // X(5)
  EXPECT_DOUBLE_EQ(p50.ci.lo, 0.85);  // X(2)
  EXPECT_DOUBLE_EQ(p50.ci.hi, 0.97);  // X(9)
  EXPECT_EQ(p50.lower_rank, 2);
  EXPECT_EQ(p50.upper_rank, 9);
  EXPECT_DOUBLE_EQ(p05.value, 0.85);  // X(1)
  EXPECT_DOUBLE_EQ(p05.ci.lo, 0.0);   // no lower limit from 10 values: the bound
  EXPECT_DOUBLE_EQ(p05.ci.hi, 0.88);  // X(3)
  EXPECT_DOUBLE_EQ(p01.value, 0.85);
  EXPECT_DOUBLE_EQ(p01.ci.lo, 0.0);
  EXPECT_DOUBLE_EQ(p01.ci.hi, 0.85);  // X(2)
  EXPECT_DOUBLE_EQ(p95.value, 0.99);  // X(10)
  EXPECT_DOUBLE_EQ(p95.ci.lo, 0.95);  // X(8)
  EXPECT_DOUBLE_EQ(p95.ci.hi, 1.0);   // the bound
  EXPECT_EQ(p95.upper_rank, 11);
  EXPECT_EQ(s.n, 10);
  EXPECT_DOUBLE_EQ(s.min, 0.85);
  EXPECT_DOUBLE_EQ(s.max, 0.99);
  EXPECT_NEAR(s.mean, 0.912, 1e-15);
  // Histogram over [0.85, 0.99] in 4 bins of 0.035: 0.85 0.85 0.88 | 0.89 0.90 0.91 | 0.93 0.95 | 0.97 0.99.
  const Summary h = summarize(x, {0.0, 1.0}, {}, 0.95, 4);
  EXPECT_DOUBLE_EQ(h.histogram.lo, 0.85);
  EXPECT_DOUBLE_EQ(h.histogram.hi, 0.99);
  EXPECT_EQ(h.histogram.counts, (std::vector<std::int64_t>{3, 3, 2, 2}));
  EXPECT_TRUE(h.quantiles.empty());
}

TEST(StatsSummary, HandCheckedMeanInterval) {
  // mean 0.9, s = sqrt(0.025 / 4) = 0.0790569, t(0.975; 4) = 2.7764451,
  // half width = 2.7764451 * 0.0790569 / sqrt(5) = 0.0981622.
  const Summary s = summarize({0.80, 0.85, 0.90, 0.95, 1.00});
  EXPECT_NEAR(s.mean, 0.9, 1e-15);
  EXPECT_NEAR(s.std, std::sqrt(0.025 / 4), 1e-15);
  EXPECT_NEAR(s.mean_ci.lo, 0.9 - 0.0981622, 1e-7);
  EXPECT_NEAR(s.mean_ci.hi, 0.9 + 0.0981622, 1e-7);
  EXPECT_DOUBLE_EQ(s.confidence, 0.95);
  // The interval stays within the bounds: values near 1 with a wide spread.
  const Summary c = summarize({0.9, 1.0, 1.0});
  EXPECT_LT(c.mean_ci.lo, 0.9);
  EXPECT_DOUBLE_EQ(c.mean_ci.hi, 1.0);
  // One value: no standard deviation, the interval is the whole range.
  const Summary one = summarize({0.7});
  EXPECT_TRUE(std::isnan(one.std));
  EXPECT_DOUBLE_EQ(one.mean_ci.lo, 0.0);
  EXPECT_DOUBLE_EQ(one.mean_ci.hi, 1.0);
  EXPECT_EQ(one.histogram.counts, (std::vector<std::int64_t>{1}));
  EXPECT_DOUBLE_EQ(one.histogram.lo, 0.7);
  EXPECT_DOUBLE_EQ(one.histogram.hi, 0.7);
}

TEST(StatsSummary, UnboundedValues) {
  const double inf = std::numeric_limits<double>::infinity();
  const Summary s = summarize({-3.0, 2.0, 5.0}, {-inf, inf});
  EXPECT_EQ(s.quantiles[0].ci.lo, -inf);
  EXPECT_EQ(s.quantiles[3].ci.hi, inf);
  EXPECT_TRUE(std::isfinite(s.mean_ci.lo));
}

TEST(StatsSummary, RejectsBadInput) {
  const auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { summarize({}); }).find("empty"), std::string::npos);
  EXPECT_NE(message([] { summarize({0.5, std::nan("")}); }).find("NaN"), std::string::npos);
  EXPECT_NE(message([] { summarize({0.5, 1.5}); }).find("outside the range [0, 1]"), std::string::npos);
  EXPECT_NE(message([] {
              summarize({0.5, std::numeric_limits<double>::infinity()}, {0, 1e300});
            }).find("inf"),
            std::string::npos);
  EXPECT_THROW(summarize({0.5}, {0, 1}, {0.0}), InvalidConfig);
  EXPECT_THROW(summarize({0.5}, {0, 1}, {1.0}), InvalidConfig);
  EXPECT_THROW(summarize({0.5}, {0, 1}, {0.5}, 1.0), InvalidConfig);
  EXPECT_THROW(summarize({0.5}, {0, 1}, {0.5}, 0.95, 0), InvalidConfig);
  EXPECT_THROW(summarize({0.5}, {1, 0}), InvalidConfig);
}

TEST(StatsSummary, JsonLayout) {
  const Summary s = summarize({0.91, 0.85, 0.97, 0.88, 0.93, 0.85, 0.90, 0.95, 0.99, 0.89});
  const nlohmann::json j = to_json(s);
  for (const char* key : {"n", "mean", "std", "min", "max", "p01", "p05", "p50", "p95", "mean_ci95", "p01_ci95",
                          "p05_ci95", "p50_ci95", "p95_ci95", "histogram", "confidence"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["n"], 10);
  EXPECT_DOUBLE_EQ(j["p50"].get<double>(), 0.90);
  EXPECT_DOUBLE_EQ(j["p50_ci95"][0].get<double>(), 0.85);
  EXPECT_DOUBLE_EQ(j["p50_ci95"][1].get<double>(), 0.97);
  EXPECT_EQ(j["histogram"]["counts"].size(), 20u);
  EXPECT_DOUBLE_EQ(j["histogram"]["lo"].get<double>(), 0.85);
  // A 99% summary with other percentiles names its keys after them.
  const nlohmann::json k = to_json(summarize({0.1, 0.2, 0.3}, {0, 1}, {0.1, 0.999}, 0.99));
  EXPECT_TRUE(k.contains("p10_ci99"));
  EXPECT_TRUE(k.contains("p99.9"));
  EXPECT_TRUE(k.contains("mean_ci99"));
  // NaN (the std of one value) is written as null.
  EXPECT_NE(to_json(summarize({0.5})).dump().find("\"std\":null"), std::string::npos);
}

TEST(StatsSummary, DropJsonMirrorsIntervals) {
  const Summary s = summarize({0.80, 0.85, 0.90, 0.95, 1.00});
  const nlohmann::json d = to_json_drop(s, 0.95);
  EXPECT_NEAR(d["mean_drop"].get<double>(), 0.05, 1e-15);
  EXPECT_NEAR(d["mean_drop_ci95"][0].get<double>(), 0.95 - s.mean_ci.hi, 1e-15);
  EXPECT_NEAR(d["mean_drop_ci95"][1].get<double>(), 0.95 - s.mean_ci.lo, 1e-15);
  EXPECT_NEAR(d["p05_drop"].get<double>(), 0.95 - 0.80, 1e-15);
  EXPECT_NEAR(d["p05_drop_ci95"][0].get<double>(), 0.95 - 0.85, 1e-15);  // p05 CI [0 (bound), X(2) = 0.85]
  EXPECT_NEAR(d["p05_drop_ci95"][1].get<double>(), 0.95, 1e-15);
  EXPECT_NEAR(d["min_drop"].get<double>(), 0.15, 1e-15);
  EXPECT_NEAR(d["max_drop"].get<double>(), -0.05, 1e-15);
}

TEST(StatsSummary, Names) {
  EXPECT_EQ(percentile_name(0.05), "p05");
  EXPECT_EQ(percentile_name(0.5), "p50");
  EXPECT_EQ(percentile_name(0.01), "p01");
  EXPECT_EQ(percentile_name(0.07), "p07");
  EXPECT_EQ(percentile_name(0.999), "p99.9");
  EXPECT_EQ(ci_name(0.95), "ci95");
  EXPECT_EQ(ci_name(0.9), "ci90");
  EXPECT_EQ(ci_name(0.999), "ci99.9");
}
