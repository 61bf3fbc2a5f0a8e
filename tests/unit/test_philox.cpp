// Known-answer tests of Philox4x32-10 (Random123's kat_vectors) and the draw
// conversions; tests/cuda/test_philox_cuda.cu checks the same vectors on a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "../common/philox_kat.hpp"
#include "xbarmc/backend.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/rng/counter.hpp"
#include "xbarmc/rng/distributions.hpp"

using namespace xbarmc;

TEST(Philox, KnownAnswerVectors) {
  for (const auto& kat : test::philox_kat_vectors) {
    const rng::Block b = rng::philox4x32_10(kat.counter, kat.key);
    for (int w = 0; w < 4; ++w) EXPECT_EQ(b.v[w], kat.expected.v[w]) << kat.name << " word " << w;
  }
}

TEST(Philox, SevenRoundVector) {
  // Random123 kat_vectors: philox4x32 7 with the pi-digits counter and key.
  const rng::Block b = rng::philox4x32<7>(rng::Counter{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
                                          rng::Key{{0xa4093822, 0x299f31d0}});
  EXPECT_EQ(b.v[0], 0x4dfccabau);
  EXPECT_EQ(b.v[1], 0x190a87f0u);
  EXPECT_EQ(b.v[2], 0xc47362bau);
  EXPECT_EQ(b.v[3], 0xb6b5242au);
}

TEST(Counter, LayoutKeepsCoordinatesApart) {
  std::set<std::vector<std::uint32_t>> seen;
  for (auto p : {rng::Purpose::fault_map, rng::Purpose::programming})
    for (std::uint32_t trial : {0u, 1u})
      for (std::uint32_t layer : {0u, 4095u})
        for (std::uint32_t tile : {0u, 1u, (1u << 20) - 1})
          for (std::uint32_t e : {0u, 7u}) {
            const rng::Counter c = rng::make_counter(p, trial, layer, tile, e);
            EXPECT_TRUE(seen.insert({c.v[0], c.v[1], c.v[2], c.v[3]}).second);
          }
  const rng::Counter c = rng::make_counter(rng::Purpose::read_noise, 9, 5, 3, 11, 2);
  EXPECT_EQ(c.v[0], 11u);
  EXPECT_EQ(c.v[1], (5u << 20) | 3u);
  EXPECT_EQ(c.v[2], 9u);
  EXPECT_EQ(c.v[3], (3u << 24) | 2u);
}

TEST(Counter, CheckRejectsOutOfRange) {
  EXPECT_NO_THROW(rng::check_coordinates(4095, 1u << 20));
  EXPECT_THROW(rng::check_coordinates(4096, 1), InvalidConfig);
  EXPECT_THROW(rng::check_coordinates(0, (1u << 20) + 1), InvalidConfig);
}

TEST(Uniform, NeverZeroAndBounded) {
  EXPECT_GT(rng::u01f(0), 0.0f);
  EXPECT_LE(rng::u01f(0xffffffffu), 1.0f);
  EXPECT_GT(rng::u01d(0u), 0.0);
  EXPECT_LT(rng::u01d(0xffffffffu), 1.0);
  EXPECT_GT(rng::u01d(0u, 0u), 0.0);
  EXPECT_LT(rng::u01d(0xffffffffu, 0xffffffffu), 1.0);
  EXPECT_DOUBLE_EQ(rng::u01d(0x80000000u), 0.5 + 0x1p-33);
}

TEST(Normal, MomentsMatchWithinSamplingError) {
  // n = 200000: the standard error of the mean is 1/sqrt(n) = 0.0022 and of the
  // variance sqrt(2/n) = 0.0032; 5 standard errors bound a false failure at ~6e-7.
  const int n = 200000;
  double s1 = 0, s2 = 0, f1 = 0;
  for (int i = 0; i < n; ++i) {
    const rng::Block b = rng::draw_block(42, rng::Purpose::test, 0, 0, 0, static_cast<std::uint32_t>(i));
    const double z = rng::normal(b.v[0], b.v[1]);
    s1 += z;
    s2 += z * z;
    f1 += rng::normalf(b.v[2], b.v[3]);
  }
  const double mean = s1 / n, var = s2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 5 * std::sqrt(1.0 / n));
  EXPECT_NEAR(var, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(f1 / n, 0.0, 5 * std::sqrt(1.0 / n));
}

TEST(Bernoulli, ThresholdIsExactAndValidated) {
  EXPECT_EQ(rng::bernoulli_threshold(0.0), 0u);
  EXPECT_EQ(rng::bernoulli_threshold(1.0), std::uint64_t{1} << 32);
  EXPECT_EQ(rng::bernoulli_threshold(0.5), std::uint64_t{1} << 31);
  EXPECT_TRUE(rng::bernoulli(0xffffffffu, rng::bernoulli_threshold(1.0)));
  EXPECT_FALSE(rng::bernoulli(0u, rng::bernoulli_threshold(0.0)));
  EXPECT_THROW(rng::bernoulli_threshold(-0.1, "p_stuck_on"), InvalidConfig);
  EXPECT_THROW(rng::bernoulli_threshold(1.5, "p_stuck_on"), InvalidConfig);
  EXPECT_THROW(rng::bernoulli_threshold(std::nan(""), "p_stuck_on"), InvalidConfig);
  EXPECT_THROW(rng::bernoulli_thresholds(0.6, 0.5, "p_stuck_off", "p_stuck_on"), InvalidConfig);
  try {
    rng::bernoulli_threshold(2.0, "p_stuck_off");
  } catch (const InvalidConfig& e) {
    EXPECT_NE(std::string(e.what()).find("p_stuck_off"), std::string::npos);
  }
}

TEST(Bernoulli, RateMatchesWithinSamplingError) {
  const double p = 0.01;
  const int n = 400000;
  const std::uint64_t t = rng::bernoulli_threshold(p);
  int hits = 0;
  for (int i = 0; i < n; ++i) {
    hits += rng::bernoulli(rng::draw_block(7, rng::Purpose::fault_map, 3, 1, 2, i).v[0], t);
  }
  // Binomial standard deviation sqrt(n p (1-p)) = 62.9; allow 5 of them.
  EXPECT_NEAR(hits, n * p, 5 * std::sqrt(n * p * (1 - p)));
}

TEST(CpuBackend, RawDrawsMatchTheScalarGenerator) {
  auto backend = make_cpu_backend(2);
  RawDrawRequest r;
  r.seed = 0x123456789abcdefull;
  r.purpose = rng::Purpose::programming;
  r.trial_first = 5;
  r.trial_count = 3;
  r.layer = 2;
  r.tile = 9;
  r.element_count = 1000;
  std::vector<std::uint32_t> out(3 * 1000 * 4);
  backend->draw_raw(r, out.data());
  for (std::uint32_t t = 0; t < 3; ++t)
    for (std::uint32_t e = 0; e < 1000; e += 37) {
      const auto b = rng::draw_block(r.seed, r.purpose, 5 + t, 2, 9, e);
      for (int w = 0; w < 4; ++w) ASSERT_EQ(out[(t * 1000 + e) * 4 + w], b.v[w]);
    }
}
