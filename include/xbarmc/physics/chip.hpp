#pragma once
/// \file
/// One chip instance (one Monte Carlo trial) of a mapped matrix: every cell's fault and
/// programmed conductance drawn at its logical coordinates, then each tile's transfer
/// conductance under the configured IR-drop model, and the fast-read tables built from
/// it. Instances of different trials are independent objects: the engine builds them
/// concurrently on different threads.

#include <cstdint>
#include <vector>

#include "xbarmc/mapping/mapped_matrix.hpp"
#include "xbarmc/physics/ir_drop.hpp"
#include "xbarmc/physics/subset_table.hpp"

namespace xbarmc {

/// One tile of a chip instance.
struct TileState {
  std::vector<float> geff;        ///< rows x cols transfer conductance (S): I_c = sum_r V_r geff[r][c]
  std::int64_t stuck_off = 0;     ///< cells stuck at g_min
  std::int64_t stuck_on = 0;      ///< cells stuck at g_max
  physics::IrStats ir;            ///< iterative IR drop: systems, iterations, final relative residual
  physics::SubsetTable table;     ///< subset sums of the effective levels (geff - g_min) / dg
  std::vector<float> noise_gain;  ///< (geff / dg)^2 when read_noise > 0, else empty
};

/// A chip instance of one mapped matrix.
struct ChipMatrix {
  std::vector<TileState> tiles;  ///< as MappedMatrix::tiles
  /// Stuck cells over all tiles.
  std::int64_t stuck_cells() const;
};

/// Draws the chip instance `trial` of matrix `layer_id` (the RNG layer coordinate,
/// < 4096) under `seed` into `out` (reusing its memory). Cells not holding a weight are
/// programmed to level 0 and get variation and faults too (they matter for IR drop).
/// Throws InvalidConfig for a layer_id out of range and xbarmc::Error when an iterative
/// IR-drop solve does not converge.
void instantiate(const MappedMatrix& m, std::uint64_t seed, std::uint32_t trial, std::uint32_t layer_id,
                 ChipMatrix& out);

/// The conductances of one tile of a chip instance (S, rows x cols, row-major) and its
/// stuck-cell counts, before IR drop. Used by instantiate() and `xbarmc tile`.
void sample_tile_conductances(const MappedMatrix& m, int tile, std::uint64_t seed, std::uint32_t trial,
                              std::uint32_t layer_id, std::vector<double>& g, std::int64_t& stuck_off,
                              std::int64_t& stuck_on);

/// Transfer conductances (S) of conductances g under hw's IR-drop model; returns the
/// iterative solver's statistics (zeros for the other models).
physics::IrStats tile_transfer(const HardwareConfig& hw, const std::vector<double>& g, std::vector<double>& geff);

}  // namespace xbarmc
