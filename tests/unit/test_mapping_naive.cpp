// Mapping a weight matrix onto tiles: quantization, sign encoding, bit slicing, the
// naive placement, ADC calibration and the integer reference, checked by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "xbarmc/errors.hpp"
#include "xbarmc/mapping/mapped_matrix.hpp"

using namespace xbarmc;

TEST(MappingNaive, EncodeLevelByHand) {
  HardwareConfig hw;  // 8-bit differential, 2 bits per cell: 4 slices of 7 magnitude bits
  // 45 = 0b00'10'11'01: slices (least significant first) 1, 3, 2, 0.
  const int want[4] = {1, 3, 2, 0};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(encode_level(45, k, +1, hw), want[k]);
    EXPECT_EQ(encode_level(45, k, -1, hw), 0);
    EXPECT_EQ(encode_level(-45, k, -1, hw), want[k]);
    EXPECT_EQ(encode_level(-45, k, +1, hw), 0);
  }
  hw.sign_mode = SignMode::offset;  // u = code + 127
  // -45 + 127 = 82 = 0b01'01'00'10: slices 2, 0, 1, 1.
  const int off[4] = {2, 0, 1, 1};
  for (int k = 0; k < 4; ++k) EXPECT_EQ(encode_level(-45, k, +1, hw), off[k]);
  hw.bits_per_cell = 4;  // 82 = 0x52: slices 2, 5
  EXPECT_EQ(encode_level(-45, 0, +1, hw), 2);
  EXPECT_EQ(encode_level(-45, 1, +1, hw), 5);
  hw.bits_per_cell = 1;
  EXPECT_EQ(encode_level(-45, 1, +1, hw), 1);
  EXPECT_EQ(encode_level(-45, 4, +1, hw), 1);
  EXPECT_EQ(encode_level(-45, 5, +1, hw), 0);
}

TEST(MappingNaive, QuantizePerChannelOrLayer) {
  // W is 2 x 2: column 0 spans +-1, column 1 spans +-0.5.
  const std::vector<float> W = {1.0f, 0.25f, -0.5f, -0.5f};
  HardwareConfig hw;
  hw.weight_bits = 3;  // codes -3..3
  QuantizedWeights q = quantize_weights(W.data(), 2, 2, hw);
  EXPECT_FLOAT_EQ(q.scale[0], 1.0f / 3);
  EXPECT_FLOAT_EQ(q.scale[1], 0.5f / 3);
  EXPECT_EQ(q.code, (std::vector<std::int32_t>{3, 2, -2, -3}));  // 0.25 / (0.5/3) = 1.5 -> 2 (half to even)
  hw.weight_scale = WeightScale::layer;
  q = quantize_weights(W.data(), 2, 2, hw);
  EXPECT_FLOAT_EQ(q.scale[0], 1.0f / 3);
  EXPECT_FLOAT_EQ(q.scale[1], 1.0f / 3);
  EXPECT_EQ(q.code, (std::vector<std::int32_t>{3, 1, -2, -2}));  // 0.75 -> 1, 1.5 -> 2
  std::vector<float> bad = W;
  bad[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(quantize_weights(bad.data(), 2, 2, hw), InvalidInput);
}

TEST(MappingNaive, PlacementOfAnUnevenMatrix) {
  HardwareConfig hw;  // 128 x 128 tiles, 8 physical columns per output: 16 outputs per tile
  const std::int64_t K = 300, M = 37;
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> W(static_cast<std::size_t>(K * M));
  for (auto& w : W) w = u(gen);
  for (SignMode sm : {SignMode::differential, SignMode::offset}) {
    hw.sign_mode = sm;
    const MappedMatrix m = map_naive(W.data(), K, M, hw);
    const int pcl = hw.phys_cols_per_logical();
    const int per_tile = hw.cols / pcl;
    ASSERT_EQ(m.n_row_tiles, 3);
    ASSERT_EQ(m.n_col_tiles, (M + per_tile - 1) / per_tile);
    ASSERT_EQ(m.tiles.size(), static_cast<std::size_t>(m.n_row_tiles * m.n_col_tiles));
    // Every (k, m) decodes back to its code from the levels.
    std::vector<std::int64_t> decoded(static_cast<std::size_t>(K * M), 0);
    for (const TileMap& t : m.tiles) {
      EXPECT_EQ(&t, &m.tiles[t.row_tile * m.n_col_tiles + t.col_tile]);
      EXPECT_EQ(t.rows_used(), t.row_tile < 2 ? 128 : 300 - 256);
      for (int r = 0; r < hw.rows; ++r) {
        const std::int64_t k = t.row_tile * 128 + r;
        EXPECT_EQ(t.row_of[r], k < K ? k : -1);
      }
      for (int c = 0; c < hw.cols; ++c) {
        const ColumnRole& role = t.col_role[c];
        const std::int64_t logical = t.col_tile * per_tile + c / pcl;
        if (c >= per_tile * pcl || logical >= M) {
          EXPECT_EQ(role.logical, -1);
          for (int r = 0; r < hw.rows; ++r) EXPECT_EQ(t.level[r * hw.cols + c], 0);
          continue;
        }
        EXPECT_EQ(role.logical, logical);
        EXPECT_EQ(role.slice, (c % pcl) / hw.signs());
        EXPECT_EQ(role.sign, (c % pcl) % hw.signs() == 0 ? 1 : -1);
        for (int r = 0; r < hw.rows; ++r) {
          const int lv = t.level[r * hw.cols + c];
          EXPECT_LT(lv, hw.levels());
          if (t.row_of[r] < 0) {
            EXPECT_EQ(lv, 0);
            continue;
          }
          decoded[t.row_of[r] * M + role.logical] += role.sign * (static_cast<std::int64_t>(lv) << (role.slice * 2));
        }
      }
      const float full = static_cast<float>(1 * 3 * t.rows_used());
      for (float f : t.adc_full_scale) EXPECT_EQ(f, full);
    }
    for (std::size_t i = 0; i < decoded.size(); ++i) {
      ASSERT_EQ(decoded[i] - hw.weight_offset(), m.weight_code[i]) << "entry " << i;
    }
    EXPECT_FALSE(m.adc_calibrated);
  }
}

// A 2 x 2 tile holding one 3-bit differential output: codes (2, -3).
TEST(MappingNaive, CalibrationPercentileByHand) {
  HardwareConfig hw;
  hw.rows = 2;
  hw.cols = 2;
  hw.weight_bits = 3;
  hw.input_bits = 2;
  hw.adc_range = AdcRange::calibrated;
  const std::vector<float> W = {0.5f, -1.0f};
  MappedMatrix m = map_naive(W.data(), 2, 1, hw);
  ASSERT_EQ(m.tiles.size(), 1u);
  EXPECT_EQ(m.weight_code, (std::vector<std::int32_t>{2, -3}));
  EXPECT_EQ(m.tiles[0].level, (std::vector<std::uint8_t>{2, 0, 0, 3}));
  // Inputs (3, 1) and (1, 2), unit scale. Bit-serial reads, least significant first:
  // (3,1): bits (1,1) -> s = (2, 3); bits (1,0) -> (2, 0).
  // (1,2): bits (1,0) -> (2, 0);     bits (0,1) -> (0, 3).
  // Column 0 sees {2, 2, 2, 0}, column 1 {3, 0, 0, 3}.
  const std::vector<float> X = {3, 1, 1, 2};
  const quant::Quantizer xq{1.0f, 0, 3};
  const struct {
    double p;
    float c0, c1;
  } want[] = {{100, 2, 3}, {75, 2, 3}, {50, 2, 1}, {25, 1, 1}, {99.99, 2, 3}};
  for (const auto& w : want) {
    m.hw.adc_percentile = w.p;
    calibrate_adc(m, X.data(), 2, xq);
    EXPECT_EQ(m.tiles[0].adc_full_scale[0], w.c0) << w.p << " %";
    EXPECT_EQ(m.tiles[0].adc_full_scale[1], w.c1) << w.p << " %";  // at least 1
  }
  EXPECT_TRUE(m.adc_calibrated);
  std::vector<std::int64_t> y(2);
  integer_matmul(m, xq, X.data(), 2, y.data());
  EXPECT_EQ(y, (std::vector<std::int64_t>{3 * 2 - 1 * 3, 1 * 2 - 2 * 3}));
  // Codes that do not fit input_bits are refused.
  EXPECT_THROW(calibrate_adc(m, X.data(), 2, quant::Quantizer{1.0f, 0, 7}), InvalidConfig);
}

TEST(MappingNaive, RefusesImpossibleMatrices) {
  HardwareConfig hw;
  std::vector<float> W(4, 1.0f);
  EXPECT_THROW(map_naive(W.data(), 0, 4, hw), InvalidInput);
  hw.g_max = hw.g_min;
  EXPECT_THROW(map_naive(W.data(), 2, 2, hw), InvalidConfig);
  // One output per 1-row tile: 1100 x 1000 needs 1.1 M tiles, more than 2^20.
  HardwareConfig tiny;
  tiny.rows = 1;
  tiny.cols = 8;
  std::vector<float> big(1100 * 1000, 0.5f);
  EXPECT_THROW(map_naive(big.data(), 1100, 1000, tiny), InvalidConfig);
}
