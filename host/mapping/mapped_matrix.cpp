#include "xbarmc/mapping/mapped_matrix.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"
#include "xbarmc/physics/adc.hpp"
#include "xbarmc/physics/dac.hpp"
#include "xbarmc/rng/counter.hpp"

namespace xbarmc {

int TileMap::rows_used() const {
  return static_cast<int>(std::count_if(row_of.begin(), row_of.end(), [](std::int32_t k) { return k >= 0; }));
}

QuantizedWeights quantize_weights(const float* W, std::int64_t K, std::int64_t M, const HardwareConfig& hw) {
  QuantizedWeights q;
  q.code.resize(static_cast<std::size_t>(K * M));
  q.scale.resize(static_cast<std::size_t>(M));
  std::vector<float> max_abs(static_cast<std::size_t>(M), 0.0f);
  for (std::int64_t k = 0; k < K; ++k) {
    for (std::int64_t m = 0; m < M; ++m) {
      const float w = W[k * M + m];
      if (!std::isfinite(w)) {
        throw InvalidInput("", fmt::format("weight matrix entry ({}, {}) is not finite ({})", k, m, w));
      }
      max_abs[m] = std::max(max_abs[m], std::fabs(w));
    }
  }
  if (hw.weight_scale == WeightScale::layer) {
    const float all = M > 0 ? *std::max_element(max_abs.begin(), max_abs.end()) : 0.0f;
    std::fill(max_abs.begin(), max_abs.end(), all);
  }
  std::vector<quant::Quantizer> qz(static_cast<std::size_t>(M));
  for (std::int64_t m = 0; m < M; ++m) {
    qz[m] = quant::weight_quantizer(max_abs[m], hw.weight_bits);
    q.scale[m] = qz[m].scale;
  }
  for (std::int64_t k = 0; k < K; ++k) {
    for (std::int64_t m = 0; m < M; ++m) q.code[k * M + m] = qz[m].quantize(W[k * M + m]);
  }
  return q;
}

int encode_level(std::int32_t code, int slice, int sign, const HardwareConfig& hw) {
  std::int32_t magnitude;
  if (hw.sign_mode == SignMode::differential) {
    magnitude = sign > 0 ? std::max(code, 0) : std::max(-code, 0);
  } else {
    magnitude = code + hw.weight_offset();
  }
  return (magnitude >> (slice * hw.bits_per_cell)) & (hw.levels() - 1);
}

void fill_tile_levels(TileMap& tile, const QuantizedWeights& q, std::int64_t M, const HardwareConfig& hw) {
  const int rows = hw.rows;
  const int cols = hw.cols;
  tile.level.assign(static_cast<std::size_t>(rows) * cols, 0);
  for (int r = 0; r < rows; ++r) {
    const std::int32_t k = tile.row_of[r];
    if (k < 0) continue;
    for (int c = 0; c < cols; ++c) {
      const ColumnRole& role = tile.col_role[c];
      if (role.logical < 0) continue;
      tile.level[static_cast<std::size_t>(r) * cols + c] =
          static_cast<std::uint8_t>(encode_level(q.code[k * M + role.logical], role.slice, role.sign, hw));
    }
  }
  tile.adc_full_scale.assign(static_cast<std::size_t>(cols),
                             physics::max_full_scale(hw.dac_bits, hw.levels(), tile.rows_used()));
}

MappedMatrix map_naive(const float* W, std::int64_t K, std::int64_t M, const HardwareConfig& hw) {
  validate(hw);
  if (K < 1 || M < 1) throw InvalidInput("", fmt::format("weight matrix must be at least 1 x 1, got {} x {}", K, M));
  MappedMatrix mm;
  mm.K = K;
  mm.M = M;
  mm.hw = hw;
  const int pcl = hw.phys_cols_per_logical();
  const std::int64_t per_tile = hw.cols / pcl;
  const std::int64_t n_row_tiles = (K + hw.rows - 1) / hw.rows;
  const std::int64_t n_col_tiles = (M + per_tile - 1) / per_tile;
  if (n_row_tiles * n_col_tiles > static_cast<std::int64_t>(rng::max_tiles_per_layer)) {
    throw InvalidConfig(fmt::format(
        "rows: a {} x {} weight matrix needs {} x {} tiles of {} x {} cells, more than the {} per layer the random "
        "counter addresses; use larger rows/cols",
        K, M, n_row_tiles, n_col_tiles, hw.rows, hw.cols, rng::max_tiles_per_layer));
  }
  mm.n_row_tiles = static_cast<int>(n_row_tiles);
  mm.n_col_tiles = static_cast<int>(n_col_tiles);
  QuantizedWeights q = quantize_weights(W, K, M, hw);
  mm.tiles.resize(static_cast<std::size_t>(n_row_tiles * n_col_tiles));
  for (int rt = 0; rt < mm.n_row_tiles; ++rt) {
    for (int ct = 0; ct < mm.n_col_tiles; ++ct) {
      TileMap& t = mm.tiles[static_cast<std::size_t>(rt) * mm.n_col_tiles + ct];
      t.row_tile = rt;
      t.col_tile = ct;
      t.row_of.assign(static_cast<std::size_t>(hw.rows), -1);
      for (int r = 0; r < hw.rows; ++r) {
        const std::int64_t k = static_cast<std::int64_t>(rt) * hw.rows + r;
        if (k < K) t.row_of[r] = static_cast<std::int32_t>(k);
      }
      t.col_role.assign(static_cast<std::size_t>(hw.cols), ColumnRole{});
      for (int c = 0; c < per_tile * pcl; ++c) {
        const std::int64_t m = ct * per_tile + c / pcl;
        if (m >= M) break;
        const int within = c % pcl;
        t.col_role[c] = ColumnRole{static_cast<std::int32_t>(m), static_cast<std::int16_t>(within / hw.signs()),
                                   static_cast<std::int8_t>(within % hw.signs() == 0 ? +1 : -1)};
      }
      fill_tile_levels(t, q, M, hw);
    }
  }
  mm.weight_scale = std::move(q.scale);
  mm.weight_code = std::move(q.code);
  return mm;
}

void calibrate_adc(MappedMatrix& m, const float* X, std::int64_t n, const quant::Quantizer& xq) {
  const HardwareConfig& hw = m.hw;
  physics::check_input_quantizer(xq, hw.input_bits);
  if (n < 1) throw InvalidInput("", "calibrate_adc: at least one calibration vector is needed");
  const physics::InputPlan plan = physics::input_plan(hw.input_bits, hw.dac_bits, xq.is_signed());
  std::vector<std::int32_t> q(static_cast<std::size_t>(n * m.K));
  physics::quantize_inputs(xq, X, n * m.K, q.data());
  const int rows = hw.rows;
  const int cols = hw.cols;
  const std::int64_t reads = n * plan.phases * plan.steps;
  std::vector<std::int32_t> signal(static_cast<std::size_t>(reads) * cols);  // read-major
  std::vector<std::int32_t> column(static_cast<std::size_t>(reads));
  for (TileMap& t : m.tiles) {
    std::fill(signal.begin(), signal.end(), 0);
    std::int64_t read = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      for (int phase = 0; phase < plan.phases; ++phase) {
        for (int step = 0; step < plan.steps; ++step, ++read) {
          std::int32_t* s = &signal[static_cast<std::size_t>(read) * cols];
          for (int r = 0; r < rows; ++r) {
            if (t.row_of[r] < 0) continue;
            const std::uint32_t d =
                physics::dac_code(physics::phase_magnitude(q[i * m.K + t.row_of[r]], phase), step, plan.dac_bits);
            if (d == 0) continue;
            const std::uint8_t* lv = &t.level[static_cast<std::size_t>(r) * cols];
            for (int c = 0; c < cols; ++c) s[c] += static_cast<std::int32_t>(d) * lv[c];
          }
        }
      }
    }
    // Nearest rank: the smallest value with at least p % of the reads at or below it.
    const auto rank = static_cast<std::int64_t>(std::ceil(hw.adc_percentile / 100.0 * static_cast<double>(reads)));
    const std::int64_t idx = std::clamp<std::int64_t>(rank - 1, 0, reads - 1);
    for (int c = 0; c < cols; ++c) {
      for (std::int64_t r = 0; r < reads; ++r) column[r] = signal[static_cast<std::size_t>(r) * cols + c];
      std::nth_element(column.begin(), column.begin() + idx, column.end());
      t.adc_full_scale[c] = std::max(1.0f, static_cast<float>(column[idx]));
    }
  }
  m.adc_calibrated = true;
}

void integer_matmul(const MappedMatrix& m, const quant::Quantizer& xq, const float* X, std::int64_t n,
                    std::int64_t* out) {
  std::vector<std::int32_t> q(static_cast<std::size_t>(m.K));
  for (std::int64_t i = 0; i < n; ++i) {
    physics::quantize_inputs(xq, X + i * m.K, m.K, q.data());
    std::int64_t* y = out + i * m.M;
    std::fill(y, y + m.M, 0);
    for (std::int64_t k = 0; k < m.K; ++k) {
      if (q[k] == 0) continue;
      const std::int32_t* w = &m.weight_code[k * m.M];
      for (std::int64_t j = 0; j < m.M; ++j) y[j] += static_cast<std::int64_t>(q[k]) * w[j];
    }
  }
}

}  // namespace xbarmc
