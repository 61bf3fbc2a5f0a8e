// The tables the crossbar kernels read (see crossbar_common.cuh), built on the host:
// upload_matrix copies them to the device, the CPU emulation tests read them in place.

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "crossbar_common.cuh"
#include "xbarmc/errors.hpp"
#include "xbarmc/physics/adc.hpp"

namespace xbarmc::cuda::detail {

namespace {
int round16(int x) { return (x + 15) / 16 * 16; }
}  // namespace

HostMatrix host_matrix(const MappedMatrix& m) {
  const HardwareConfig& hw = m.hw;
  HostMatrix d;
  d.hw = hw;
  d.K = m.K;
  d.M = m.M;
  d.tiles = static_cast<int>(m.tiles.size());
  d.n_row_tiles = m.n_row_tiles;
  d.n_col_tiles = m.n_col_tiles;
  d.cell = physics::cell_model(hw);
  d.weight_offset = hw.weight_offset();
  int rows_used = 1, cols_used = 1;
  for (const auto& t : m.tiles) {
    for (int r = 0; r < hw.rows; ++r)
      if (t.row_of[r] >= 0) rows_used = std::max(rows_used, r + 1);
    for (int c = 0; c < hw.cols; ++c)
      if (t.col_role[c].logical >= 0) cols_used = std::max(cols_used, c + 1);
  }
  d.rows_p = std::min(round16(rows_used), round16(hw.rows));
  d.cols_p = std::min(round16(cols_used), round16(hw.cols));
  // Tiles read over up to 256 rows (the warp kernel; the block kernel takes 128) and 128
  // columns.
  if (d.cols_p > 128 || d.rows_p > 256) {
    throw Unsupported(
        fmt::format("the CUDA backend reads at most 256 rows and 128 columns of a tile; this layer "
                    "uses {} x {} (use --backend cpu or smaller rows/cols)",
                    rows_used, cols_used));
  }
  const int rp = d.rows_p, cp = d.cols_p;
  std::vector<std::int32_t> row_of(static_cast<std::size_t>(d.tiles) * rp, -1);
  std::vector<float> step(static_cast<std::size_t>(d.tiles) * cp, 1.0f), inv(step.size(), 1.0f);
  std::vector<std::uint8_t> level, verified;
  bool any_verified = false;
  for (const auto& t : m.tiles) any_verified |= !t.write_verify.empty();
  for (int ti = 0; ti < d.tiles; ++ti) {
    const TileMap& t = m.tiles[ti];
    for (int r = 0; r < std::min(rp, hw.rows); ++r) row_of[static_cast<std::size_t>(ti) * rp + r] = t.row_of[r];
    for (int c = 0; c < std::min(cp, hw.cols); ++c) {
      const float s = physics::adc_step(t.adc_full_scale[c], hw.adc_bits);
      step[static_cast<std::size_t>(ti) * cp + c] = s;
      inv[static_cast<std::size_t>(ti) * cp + c] = physics::adc_inverse_step(s);
    }
    level.insert(level.end(), t.level.begin(), t.level.end());
    if (any_verified) {
      if (t.write_verify.empty()) {
        verified.insert(verified.end(), t.level.size(), 0);
      } else {
        verified.insert(verified.end(), t.write_verify.begin(), t.write_verify.end());
      }
    }
  }
  // Column tiles: their logical columns and, per logical column, its physical columns
  // in ascending order with their digital weights. Every row tile of a column tile must
  // hold the same column layout (true of every strategy that permutes rows only).
  int max_logical = 1;
  std::vector<std::vector<std::int32_t>> logical_of(d.n_col_tiles);
  for (int ct = 0; ct < d.n_col_tiles; ++ct) {
    const TileMap& t0 = m.tiles[ct];
    for (int rt = 1; rt < d.n_row_tiles; ++rt) {
      const TileMap& t = m.tiles[static_cast<std::size_t>(rt) * d.n_col_tiles + ct];
      for (int c = 0; c < hw.cols; ++c) {
        if (t.col_role[c].logical != t0.col_role[c].logical || t.col_role[c].slice != t0.col_role[c].slice ||
            t.col_role[c].sign != t0.col_role[c].sign) {
          throw Unsupported(
              "the CUDA backend needs every row tile of a column tile to hold the same columns; "
              "use --backend cpu for this mapping");
        }
      }
    }
    for (int c = 0; c < hw.cols; ++c) {
      const std::int32_t l = t0.col_role[c].logical;
      if (l >= 0 && std::find(logical_of[ct].begin(), logical_of[ct].end(), l) == logical_of[ct].end())
        logical_of[ct].push_back(l);
    }
    max_logical = std::max<int>(max_logical, static_cast<int>(logical_of[ct].size()));
  }
  d.max_logical = max_logical;
  std::vector<std::int32_t> count(d.n_col_tiles), logical(static_cast<std::size_t>(d.n_col_tiles) * max_logical, -1),
      start(static_cast<std::size_t>(d.n_col_tiles) * (max_logical + 1), 0),
      cols(static_cast<std::size_t>(d.n_col_tiles) * cp, 0);
  std::vector<double> weight(cols.size(), 0.0);
  for (int ct = 0; ct < d.n_col_tiles; ++ct) {
    const TileMap& t0 = m.tiles[ct];
    count[ct] = static_cast<std::int32_t>(logical_of[ct].size());
    int e = 0;
    for (int j = 0; j < count[ct]; ++j) {
      logical[static_cast<std::size_t>(ct) * max_logical + j] = logical_of[ct][j];
      start[static_cast<std::size_t>(ct) * (max_logical + 1) + j] = e;
      for (int c = 0; c < std::min(cp, hw.cols); ++c) {
        const ColumnRole& role = t0.col_role[c];
        if (role.logical != logical_of[ct][j]) continue;
        cols[static_cast<std::size_t>(ct) * cp + e] = c;
        weight[static_cast<std::size_t>(ct) * cp + e] = role.sign * std::ldexp(1.0, role.slice * hw.bits_per_cell);
        ++e;
      }
    }
    for (int j = count[ct]; j <= max_logical; ++j) start[static_cast<std::size_t>(ct) * (max_logical + 1) + j] = e;
  }
  d.row_of = std::move(row_of);
  d.adc_step = std::move(step);
  d.adc_inv = std::move(inv);
  d.ct_count = std::move(count);
  d.ct_logical = std::move(logical);
  d.ct_start = std::move(start);
  d.ct_cols = std::move(cols);
  d.ct_weight = std::move(weight);
  d.level = std::move(level);
  d.verified = std::move(verified);
  d.weight_scale = m.weight_scale;
  return d;
}

}  // namespace xbarmc::cuda::detail
