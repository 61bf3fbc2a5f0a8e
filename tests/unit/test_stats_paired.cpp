// Paired differences between arms that saw the same chips: the hand-checked paired t
// interval, the pairing of the bootstrap, determinism from the seed, input checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarmc/errors.hpp"
#include "xbarmc/rng/counter.hpp"
#include "xbarmc/rng/distributions.hpp"
#include "xbarmc/stats/paired.hpp"

using namespace xbarmc;
using namespace xbarmc::stats;

namespace {

// n normal values 0.9 + sd * z from Philox (Purpose::test, layer = stream).
std::vector<double> normals(std::uint32_t stream, int n, double sd) {
  std::vector<double> x(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const rng::Block b = rng::draw_block(7, rng::Purpose::test, 0, stream, 0, static_cast<std::uint32_t>(i));
    x[static_cast<std::size_t>(i)] = 0.9 + sd * rng::normal(b.v[0], b.v[1]);
  }
  return x;
}

double type1(std::vector<double> x, double p) {
  std::sort(x.begin(), x.end());
  const auto k = static_cast<std::size_t>(std::ceil(x.size() * p - 1e-9));
  return x[std::max<std::size_t>(k, 1) - 1];
}

}  // namespace

TEST(StatsPaired, HandCheckedMeanInterval) {
  // Differences 0.01 0.02 0 0.01 0.01: mean 0.01, sd = sqrt(0.0002 / 4) = 0.0070711,
  // half width t(0.975; 4) * sd / sqrt(5) = 2.7764451 * 0.0070711 / 2.2360680 = 0.0087798.
  const std::vector<double> a{0.80, 0.90, 0.85, 0.95, 0.90};
  const std::vector<double> b{0.81, 0.92, 0.85, 0.96, 0.91};
  const PairedDifference d = paired_difference(a, b, 1);
  EXPECT_NEAR(d.mean, 0.01, 1e-12);
  EXPECT_NEAR(d.mean_ci.lo, 0.01 - 0.0087798, 1e-7);
  EXPECT_NEAR(d.mean_ci.hi, 0.01 + 0.0087798, 1e-7);
  EXPECT_EQ(d.n, 5);
  EXPECT_EQ(d.resamples, 2000);
  ASSERT_EQ(d.quantiles.size(), 4u);
  // p50: X(3) of b minus X(3) of a = 0.91 - 0.90.
  EXPECT_NEAR(d.quantiles[2].value, 0.01, 1e-12);
}

TEST(StatsPaired, ConstantShiftGivesAPointInterval) {
  // b = a + 1/64 exactly (binary fractions): every resample, drawn for both arms together,
  // shifts every quantile by exactly 1/64. Resampling the arms independently would not.
  std::vector<double> a, b;
  for (int i = 0; i < 200; ++i) {
    const double v = 0.5 + static_cast<double>((i * 37) % 200) / 1024.0;
    a.push_back(v);
    b.push_back(v + 1.0 / 64);
  }
  const PairedDifference d = paired_difference(a, b, 3);
  for (const auto& q : d.quantiles) {
    EXPECT_EQ(q.value, 1.0 / 64) << q.p;
    EXPECT_EQ(q.ci.lo, 1.0 / 64) << q.p;
    EXPECT_EQ(q.ci.hi, 1.0 / 64) << q.p;
  }
  EXPECT_EQ(d.mean_ci.lo, 1.0 / 64);
  EXPECT_EQ(d.mean_ci.hi, 1.0 / 64);
}

TEST(StatsPaired, PairingNarrowsTheInterval) {
  // Arms sharing a chip-to-chip spread of 0.02 and differing by a per-chip 0.002: the paired
  // mean interval follows the 0.002 (width about 2 * 1.97 * 0.002 / sqrt(300) = 0.00046), not the
  // 0.02. Breaking the pairing (b rotated by one trial: same values, other chips) keeps every
  // point estimate of a quantile difference but must widen its interval.
  const auto chip = normals(0, 300, 0.02);
  const auto own = normals(1, 300, 0.002);
  std::vector<double> a = chip, b(chip.size());
  for (std::size_t i = 0; i < chip.size(); ++i) b[i] = chip[i] - 0.01 + (own[i] - 0.9);
  std::vector<double> b_unpaired(b.begin() + 1, b.end());
  b_unpaired.push_back(b.front());
  const PairedDifference d = paired_difference(a, b, 11);
  const PairedDifference u = paired_difference(a, b_unpaired, 11);
  EXPECT_LT(d.mean_ci.hi - d.mean_ci.lo, 0.0006);
  EXPECT_GT(d.mean_ci.hi - d.mean_ci.lo, 0.0003);
  EXPECT_LT(d.mean_ci.lo, -0.01 + 0.0005);
  EXPECT_GT(d.mean_ci.hi, -0.01 - 0.0005);
  EXPECT_GT(u.mean_ci.hi - u.mean_ci.lo, 10 * (d.mean_ci.hi - d.mean_ci.lo));
  for (std::size_t k = 0; k < d.quantiles.size(); ++k) {
    const QuantileEstimate& q = d.quantiles[k];
    EXPECT_NEAR(q.value, type1(b, q.p) - type1(a, q.p), 1e-15);
    EXPECT_EQ(q.value, u.quantiles[k].value);
    EXPECT_LE(q.ci.lo, q.value);
    EXPECT_GE(q.ci.hi, q.value);
    // Measured: paired widths 0.0052, 0.0035, 0.0024, 0.0064 against 0.052, 0.0099, 0.0068, 0.025.
    EXPECT_LT(q.ci.hi - q.ci.lo, 0.5 * (u.quantiles[k].ci.hi - u.quantiles[k].ci.lo)) << q.p;
  }
}

TEST(StatsPaired, DeterministicFromTheSeed) {
  const auto a = normals(2, 150, 0.02);
  const auto b = normals(3, 150, 0.02);
  const PairedDifference d1 = paired_difference(a, b, 42);
  const PairedDifference d2 = paired_difference(a, b, 42);
  const PairedDifference d3 = paired_difference(a, b, 43);
  bool differs = false;
  for (std::size_t k = 0; k < d1.quantiles.size(); ++k) {
    EXPECT_EQ(d1.quantiles[k].ci.lo, d2.quantiles[k].ci.lo);
    EXPECT_EQ(d1.quantiles[k].ci.hi, d2.quantiles[k].ci.hi);
    differs =
        differs || d1.quantiles[k].ci.lo != d3.quantiles[k].ci.lo || d1.quantiles[k].ci.hi != d3.quantiles[k].ci.hi;
  }
  EXPECT_TRUE(differs);
  EXPECT_EQ(to_json(d1).dump(), to_json(d2).dump());
}

TEST(StatsPaired, RejectsBadInput) {
  EXPECT_THROW(paired_difference({0.5, 0.6}, {0.5}, 1), Error);
  EXPECT_THROW(paired_difference({}, {}, 1), Error);
  EXPECT_THROW(paired_difference({0.5, std::nan("")}, {0.5, 0.6}, 1), Error);
  EXPECT_THROW(paired_difference({0.5, 0.6}, {0.5, 1.6}, 1), Error);
  EXPECT_THROW(paired_difference({0.5, 0.6}, {0.5, 0.6}, 1, {0.5}, 0.0), InvalidConfig);
}

TEST(StatsPaired, JsonLayout) {
  const nlohmann::json j = to_json(paired_difference(normals(4, 40, 0.02), normals(5, 40, 0.02), 9));
  for (const char* key : {"n", "mean", "mean_ci95", "p01", "p01_ci95", "p05", "p05_ci95", "p50", "p50_ci95", "p95",
                          "p95_ci95", "confidence", "resamples", "mean_ci_method", "quantile_ci_method"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["resamples"], 2000);
}
