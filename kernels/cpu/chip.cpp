// Chip instances: per-cell draws, IR-drop transfer conductances, fast-read tables.
#include "xbarmc/physics/chip.hpp"

#include <fmt/format.h>

#include "xbarmc/errors.hpp"
#include "xbarmc/physics/cell.hpp"
#include "xbarmc/rng/counter.hpp"

namespace xbarmc {

std::int64_t ChipMatrix::stuck_cells() const {
  std::int64_t n = 0;
  for (const auto& t : tiles) n += t.stuck_off + t.stuck_on;
  return n;
}

void sample_tile_conductances(const MappedMatrix& m, int tile, std::uint64_t seed, std::uint32_t trial,
                              std::uint32_t layer_id, std::vector<double>& g, std::int64_t& stuck_off,
                              std::int64_t& stuck_on) {
  const HardwareConfig& hw = m.hw;
  const physics::CellModel cm = physics::cell_model(hw);
  const TileMap& tm = m.tiles[static_cast<std::size_t>(tile)];
  const std::size_t cells = static_cast<std::size_t>(hw.rows) * hw.cols;
  g.resize(cells);
  stuck_off = 0;
  stuck_on = 0;
  const bool any_verified = !tm.write_verify.empty();
  for (std::size_t e = 0; e < cells; ++e) {
    physics::CellFault f;
    g[e] =
        physics::sample_cell(cm, seed, trial, layer_id, static_cast<std::uint32_t>(tile), static_cast<std::uint32_t>(e),
                             tm.level[e], any_verified && tm.write_verify[e] != 0, &f);
    stuck_off += f == physics::CellFault::stuck_off;
    stuck_on += f == physics::CellFault::stuck_on;
  }
}

physics::IrStats tile_transfer(const HardwareConfig& hw, const std::vector<double>& g, std::vector<double>& geff) {
  const physics::Wires wires{hw.r_wire, hw.r_driver, hw.r_sense};
  geff.resize(g.size());
  switch (hw.ir_drop) {
    case IrDrop::none:
      geff = g;
      return {};
    case IrDrop::static_resistance:
      physics::transfer_static(g.data(), hw.rows, hw.cols, wires, geff.data());
      return {};
    case IrDrop::exact:
      physics::transfer_exact(g.data(), hw.rows, hw.cols, wires, geff.data());
      return {};
    case IrDrop::iterative:
      return physics::transfer_iterative(g.data(), hw.rows, hw.cols, wires, hw.ir_tol, hw.ir_max_iter, geff.data());
  }
  return {};
}

void instantiate(const MappedMatrix& m, std::uint64_t seed, std::uint32_t trial, std::uint32_t layer_id,
                 ChipMatrix& out) {
  if (layer_id >= rng::max_layers) {
    throw InvalidConfig(fmt::format("layer {}: at most {} crossbar matrices are addressable by the random counter",
                                    layer_id, rng::max_layers));
  }
  const HardwareConfig& hw = m.hw;
  const physics::CellModel cm = physics::cell_model(hw);
  out.tiles.resize(m.tiles.size());
  std::vector<double> g, geff;
  std::vector<float> level;
  for (std::size_t t = 0; t < m.tiles.size(); ++t) {
    TileState& ts = out.tiles[t];
    sample_tile_conductances(m, static_cast<int>(t), seed, trial, layer_id, g, ts.stuck_off, ts.stuck_on);
    try {
      ts.ir = tile_transfer(hw, g, geff);
    } catch (const InvalidConfig&) {
      throw;
    } catch (const Error& e) {
      throw Error(fmt::format("layer {} tile {} (trial {}): {}", layer_id, t, trial, e.what()));
    }
    ts.geff.assign(geff.begin(), geff.end());
    // Effective levels from the double transfer conductance: exact integers for ideal
    // cells, so ideal hardware reproduces the integer product bit for bit.
    level.resize(geff.size());
    for (std::size_t i = 0; i < geff.size(); ++i) level[i] = static_cast<float>(physics::effective_level(cm, geff[i]));
    physics::build_subset_table(level.data(), hw.rows, hw.cols, ts.table);
    ts.noise_gain.clear();
    if (hw.read_noise > 0) {
      ts.noise_gain.resize(geff.size());
      for (std::size_t i = 0; i < geff.size(); ++i) {
        const double x = geff[i] / cm.dg;
        ts.noise_gain[i] = static_cast<float>(x * x);
      }
    }
  }
}

}  // namespace xbarmc
