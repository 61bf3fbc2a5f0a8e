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
  const int cols_read = std::min(round16(cols_used), round16(hw.cols));
  // Column windows: per column tile, its logical columns (in the order of their first
  // physical column) in windows of at most 128 columns starting at multiples of 16, each
  // logical column in exactly one window (a window may also read columns of its
  // neighbours' logical columns, which it then ignores). Every row tile of a column tile
  // must hold the same column layout (true of every strategy that permutes rows only).
  struct Window {
    int tile, col0;
    std::vector<std::int32_t> logical;
  };
  std::vector<Window> windows;
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
    std::vector<std::int32_t> logical_of;
    std::vector<int> first, last;
    for (int c = 0; c < hw.cols; ++c) {
      const std::int32_t l = t0.col_role[c].logical;
      if (l < 0) continue;
      const auto at = std::find(logical_of.begin(), logical_of.end(), l);
      if (at == logical_of.end()) {
        logical_of.push_back(l);
        first.push_back(c);
        last.push_back(c);
      } else {
        last[static_cast<std::size_t>(at - logical_of.begin())] = c;
      }
    }
    if (cols_read <= 128) {
      windows.push_back(Window{ct, 0, logical_of});
      continue;
    }
    for (std::size_t i = 0; i < logical_of.size();) {
      Window w{ct, first[i] / 16 * 16, {}};
      while (i < logical_of.size() && last[i] < w.col0 + 128) w.logical.push_back(logical_of[i++]);
      if (w.logical.empty()) {
        throw Unsupported(fmt::format(
            "logical column {} of this layer lies on physical columns {} to {} of a tile: the CUDA backend reads "
            "a logical column within 128 physical columns; use --backend cpu for this mapping",
            logical_of[i], first[i], last[i]));
      }
      windows.push_back(std::move(w));
    }
  }
  d.n_windows = static_cast<int>(windows.size());
  d.win_cols = std::min(cols_read, 128);
  d.cols_p = cols_read;
  for (const Window& w : windows) d.cols_p = std::max(d.cols_p, w.col0 + d.win_cols);

  const int rp = d.rows_p, cp = d.cols_p, wc = d.win_cols;
  std::vector<std::int32_t> row_of(static_cast<std::size_t>(d.tiles) * rp, -1), tile_rows(d.tiles, 0);
  std::vector<float> step(static_cast<std::size_t>(d.tiles) * cp, 1.0f), inv(step.size(), 1.0f);
  std::vector<std::uint8_t> level, verified;
  bool any_verified = false;
  for (const auto& t : m.tiles) any_verified |= !t.write_verify.empty();
  for (int ti = 0; ti < d.tiles; ++ti) {
    const TileMap& t = m.tiles[ti];
    for (int r = 0; r < std::min(rp, hw.rows); ++r) {
      row_of[static_cast<std::size_t>(ti) * rp + r] = t.row_of[r];
      if (t.row_of[r] >= 0) tile_rows[ti] = round16(r + 1);
    }
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
  // Per window: its logical columns and, per logical column, its physical columns (from
  // the window's first) in ascending order with their digital weights.
  int max_logical = 1;
  for (const Window& w : windows) max_logical = std::max<int>(max_logical, static_cast<int>(w.logical.size()));
  d.max_logical = max_logical;
  const std::size_t nw = windows.size();
  std::vector<std::int32_t> win_tile(nw), win_col0(nw), count(nw), logical(nw * max_logical, -1),
      start(nw * (max_logical + 1), 0), cols(nw * wc, 0);
  std::vector<double> weight(cols.size(), 0.0);
  for (std::size_t wi = 0; wi < nw; ++wi) {
    const Window& w = windows[wi];
    const TileMap& t0 = m.tiles[static_cast<std::size_t>(w.tile)];
    win_tile[wi] = w.tile;
    win_col0[wi] = w.col0;
    count[wi] = static_cast<std::int32_t>(w.logical.size());
    int e = 0;
    for (int j = 0; j < count[wi]; ++j) {
      logical[wi * max_logical + j] = w.logical[static_cast<std::size_t>(j)];
      start[wi * (max_logical + 1) + j] = e;
      for (int c = w.col0; c < std::min(w.col0 + wc, hw.cols); ++c) {
        const ColumnRole& role = t0.col_role[c];
        if (role.logical != w.logical[static_cast<std::size_t>(j)]) continue;
        cols[wi * wc + e] = c - w.col0;
        weight[wi * wc + e] = role.sign * std::ldexp(1.0, role.slice * hw.bits_per_cell);
        ++e;
      }
    }
    for (int j = count[wi]; j <= max_logical; ++j) start[wi * (max_logical + 1) + j] = e;
  }
  d.win_tile = std::move(win_tile);
  d.win_col0 = std::move(win_col0);
  d.row_of = std::move(row_of);
  d.tile_rows = std::move(tile_rows);
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
