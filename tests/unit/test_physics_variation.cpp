// Distributions of the chip-instance draws: fault rates, programming variation,
// write-verified cells, read noise; nested fault sets and common random numbers across
// arms. Every tolerance is five standard errors of the statistic for its sample size.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "xbarmc/mapping/mapped_matrix.hpp"
#include "xbarmc/physics/cell.hpp"
#include "xbarmc/physics/chip.hpp"
#include "xbarmc/physics/crossbar.hpp"

using namespace xbarmc;

namespace {

// A one-tile matrix whose cells hold levels (r + c) % L; `verify_every` > 0 marks every
// that-many-th cell write-verified.
MappedMatrix level_tile(const HardwareConfig& hw, int verify_every = 0) {
  MappedMatrix m;
  m.hw = hw;
  m.K = hw.rows;
  m.M = 1;
  m.n_row_tiles = m.n_col_tiles = 1;
  TileMap t;
  t.level.resize(static_cast<std::size_t>(hw.rows) * hw.cols);
  for (int r = 0; r < hw.rows; ++r) {
    for (int c = 0; c < hw.cols; ++c) t.level[r * hw.cols + c] = static_cast<std::uint8_t>((r + c) % hw.levels());
  }
  if (verify_every > 0) {
    t.write_verify.resize(t.level.size());
    for (std::size_t e = 0; e < t.level.size(); ++e) t.write_verify[e] = e % verify_every == 0;
  }
  m.tiles.push_back(std::move(t));
  return m;
}

struct Cells {
  std::vector<double> g;
  std::int64_t off = 0, on = 0;
};

Cells draw(const MappedMatrix& m, std::uint32_t trial, std::uint64_t seed = 42) {
  Cells c;
  sample_tile_conductances(m, 0, seed, trial, 3, c.g, c.off, c.on);
  return c;
}

void expect_rate(std::int64_t count, double n, double p, const char* what) {
  const double sd = std::sqrt(n * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(count), n * p, 5 * sd) << what;
}

}  // namespace

TEST(PhysicsVariation, FaultRatesAndStuckValues) {
  HardwareConfig hw;
  hw.p_stuck_off = 0.01;
  hw.p_stuck_on = 0.02;
  const MappedMatrix m = level_tile(hw);
  const double cells = 128.0 * 128;
  std::int64_t off = 0, on = 0;
  const int trials = 8;
  for (std::uint32_t t = 0; t < trials; ++t) {
    const Cells c = draw(m, t);
    off += c.off;
    on += c.on;
    std::int64_t at_min = 0, at_max = 0;
    for (double g : c.g) {
      at_min += g == hw.g_min;
      at_max += g == hw.g_max;
    }
    // Stuck cells sit exactly at the bounds; healthy ones (lognormal) almost never do.
    EXPECT_EQ(at_min, c.off);
    EXPECT_EQ(at_max, c.on);
  }
  expect_rate(off, cells * trials, hw.p_stuck_off, "stuck-off");
  expect_rate(on, cells * trials, hw.p_stuck_on, "stuck-on");
}

TEST(PhysicsVariation, NestedFaultSetsAcrossArms) {
  HardwareConfig a, b, c;
  a.p_stuck_off = 0.01;
  a.p_stuck_on = 0.01;
  b.p_stuck_off = 0.03;  // more stuck-off, same stuck-on probability
  b.p_stuck_on = 0.01;
  c.p_stuck_off = 0.01;  // same stuck-off, more stuck-on
  c.p_stuck_on = 0.05;
  const Cells ca = draw(level_tile(a), 1), cb = draw(level_tile(b), 1), cc = draw(level_tile(c), 1);
  std::int64_t off_a = 0, off_in_b = 0, on_a = 0, on_in_c = 0, off_same = 0, stuck_a = 0, stuck_in_b = 0;
  for (std::size_t e = 0; e < ca.g.size(); ++e) {
    if (ca.g[e] == a.g_min) {
      ++off_a;
      off_in_b += cb.g[e] == b.g_min;
      off_same += cc.g[e] == c.g_min;
    }
    if (ca.g[e] == a.g_max) {
      ++on_a;
      on_in_c += cc.g[e] == c.g_max;
    }
    if (ca.g[e] == a.g_min || ca.g[e] == a.g_max) {
      ++stuck_a;
      stuck_in_b += cb.g[e] == b.g_min || cb.g[e] == b.g_max;
    }
  }
  EXPECT_GT(off_a, 0);
  EXPECT_EQ(off_in_b, off_a);      // stuck-off under p_off = 1 % stays stuck-off under 3 %
  EXPECT_EQ(off_same, off_a);      // the same stuck-off set when only p_on changes
  EXPECT_EQ(on_in_c, on_a);        // stuck-on under p_on = 1 % stays stuck-on under 5 %
  EXPECT_EQ(stuck_in_b, stuck_a);  // every stuck cell stays stuck
  EXPECT_GT(cb.off, ca.off);
}

TEST(PhysicsVariation, LognormalMomentsAndCommonRandomNumbers) {
  HardwareConfig hw;
  hw.p_stuck_off = hw.p_stuck_on = 0;
  hw.sigma = 0.1;
  const MappedMatrix m = level_tile(hw);
  HardwareConfig hw2 = hw;
  hw2.sigma = 0.3;
  const MappedMatrix m2 = level_tile(hw2);
  const physics::CellModel cm = physics::cell_model(hw);
  double sum = 0, sum2 = 0;
  std::int64_t n = 0;
  for (std::uint32_t t = 0; t < 4; ++t) {
    const Cells c = draw(m, t), c2 = draw(m2, t);
    for (std::size_t e = 0; e < c.g.size(); ++e) {
      const double g0 = physics::nominal_conductance(cm, m.tiles[0].level[e]);
      const double z = std::log(c.g[e] / g0) / hw.sigma;
      // Another sigma, the same z: arms differ by their parameters, not by luck.
      EXPECT_NEAR(std::log(c2.g[e] / g0) / hw2.sigma, z, 1e-9);
      sum += z;
      sum2 += z * z;
      ++n;
    }
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 5 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(var, 1.0, 5 * std::sqrt(2.0 / (n - 1)));
}

TEST(PhysicsVariation, NormalVariationAndWriteVerify) {
  HardwareConfig hw;
  hw.p_stuck_off = hw.p_stuck_on = 0;
  hw.variation = Variation::normal;
  hw.sigma = 0.02;
  hw.sigma_write_verify = 0.005;
  const MappedMatrix m = level_tile(hw, 3);  // every third cell write-verified
  const physics::CellModel cm = physics::cell_model(hw);
  double s[2] = {0, 0}, s2[2] = {0, 0};
  std::int64_t n[2] = {0, 0};
  for (std::uint32_t t = 0; t < 4; ++t) {
    const Cells c = draw(m, t);
    for (std::size_t e = 0; e < c.g.size(); ++e) {
      const int level = m.tiles[0].level[e];
      if (level == 0) continue;  // level 0 is clipped at 0 S now and then
      const int v = m.tiles[0].write_verify[e];
      const double z = (c.g[e] - physics::nominal_conductance(cm, level)) /
                       ((v ? hw.sigma_write_verify : hw.sigma) * (hw.g_max - hw.g_min));
      s[v] += z;
      s2[v] += z * z;
      ++n[v];
    }
  }
  for (int v = 0; v < 2; ++v) {
    const double mean = s[v] / n[v], var = s2[v] / n[v] - mean * mean;
    EXPECT_NEAR(mean, 0.0, 5 / std::sqrt(static_cast<double>(n[v]))) << "verified " << v;
    EXPECT_NEAR(var, 1.0, 5 * std::sqrt(2.0 / (n[v] - 1))) << "verified " << v;
  }
}

TEST(PhysicsVariation, DrawsDependOnlyOnCoordinates) {
  HardwareConfig hw;
  const MappedMatrix m = level_tile(hw);
  const Cells a = draw(m, 5), b = draw(m, 5), c = draw(m, 6), d = draw(m, 5, 43);
  EXPECT_EQ(a.g, b.g);
  EXPECT_NE(a.g, c.g);
  EXPECT_NE(a.g, d.g);
  // The fault map does not depend on what the cells hold.
  HardwareConfig hw2 = hw;
  hw2.p_stuck_off = hw2.p_stuck_on = 0.05;
  MappedMatrix m1 = level_tile(hw2), m2 = level_tile(hw2);
  for (auto& l : m2.tiles[0].level) l = static_cast<std::uint8_t>(3 - l);
  const Cells f1 = draw(m1, 2), f2 = draw(m2, 2);
  for (std::size_t e = 0; e < f1.g.size(); ++e) {
    EXPECT_EQ(f1.g[e] == hw.g_min, f2.g[e] == hw.g_min);
    EXPECT_EQ(f1.g[e] == hw.g_max, f2.g[e] == hw.g_max);
  }
}

TEST(PhysicsVariation, ReadNoiseMatchesItsPrediction) {
  // One output in one slice (3-bit differential weights, 2-bit cells), 1-bit inputs: a single
  // read of two columns; the output is s_pos - s_neg, each with read noise of variance
  // read_noise^2 sum_r d_r^2 (geff / dg)^2 in level units.
  HardwareConfig hw;
  hw.rows = 16;
  hw.cols = 2;
  hw.weight_bits = 3;
  hw.input_bits = 1;
  hw.adc_bits = 0;
  hw.read_noise = 0.05;
  std::vector<float> W(16);
  for (int k = 0; k < 16; ++k) W[k] = static_cast<float>((k % 7) - 3);
  const MappedMatrix m = map_naive(W.data(), 16, 1, hw);
  ChipMatrix chip;
  instantiate(m, 9, 0, 0, chip);
  const int n = 20000;
  std::vector<float> X(static_cast<std::size_t>(n) * 16);
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < 16; ++k) X[i * 16 + k] = k % 3 == 0 ? 0.0f : 1.0f;
  }
  const quant::Quantizer xq{1.0f, 0, 1};
  std::vector<double> y(n), quiet(1);
  CrossbarWorkspace ws;
  crossbar_matmul_raw(m, chip, xq, X.data(), n, y.data(), ws, 9, 0, 0, 1000);
  MappedMatrix silent = m;
  silent.hw.read_noise = 0;
  crossbar_matmul_raw(silent, chip, xq, X.data(), 1, quiet.data(), ws);
  double predicted = 0;
  const double dg = hw.level_step();
  for (int c = 0; c < 2; ++c) {
    for (int r = 0; r < 16; ++r) {
      if (r % 3 == 0) continue;
      const double x = chip.tiles[0].geff[r * 2 + c] / dg;
      predicted += hw.read_noise * hw.read_noise * x * x;
    }
  }
  double s = 0, s2 = 0;
  for (double v : y) {
    s += v;
    s2 += v * v;
  }
  const double mean = s / n, var = s2 / n - mean * mean;
  EXPECT_NEAR(mean, quiet[0], 5 * std::sqrt(predicted / n));
  EXPECT_NEAR(var, predicted, 5 * std::sqrt(2.0 / (n - 1)) * predicted);
  // The draws depend on the global vector index, not on the batch.
  std::vector<double> again(40);
  crossbar_matmul_raw(m, chip, xq, X.data() + 100 * 16, 40, again.data(), ws, 9, 0, 0, 1100);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(again[i], y[100 + i]);
}
