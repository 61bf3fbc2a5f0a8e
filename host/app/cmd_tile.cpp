// `xbarmc tile`: one random tile and input vector, its column currents under the chosen
// IR-drop model, and optionally the same circuit as an ngspice netlist.
#include <cmath>
#include <iostream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarmc/app/cli.hpp"
#include "xbarmc/app/keys.hpp"
#include "xbarmc/hardware.hpp"
#include "xbarmc/io/atomic_file.hpp"
#include "xbarmc/physics/chip.hpp"
#include "xbarmc/physics/dac.hpp"
#include "xbarmc/physics/ir_drop.hpp"
#include "xbarmc/physics/spice_netlist.hpp"
#include "xbarmc/rng/counter.hpp"

namespace xbarmc::app {

namespace {

config::Schema tile_keys() {
  using config::KeyDef;
  using config::Kind;
  config::Schema s = hardware_schema();
  s.merge(seed_key()).merge(json_key());
  s.add(KeyDef("spice_out", Kind::path, "", "write the tile as an ngspice netlist to this file", "Output").cli_only());
  return s;
}

// Uniform integer in [0, n) from one word (multiply-shift; bias below 2^-32 * n).
std::uint32_t uniform_below(std::uint32_t word, std::uint32_t n) {
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(word) * n) >> 32);
}

int run_tile(const config::ParsedCommand& cmd) {
  const config::Settings& s = cmd.settings;
  const HardwareConfig hw = hardware_from_settings(s, /*check_weights=*/false);  // raw levels, no weights
  const auto seed = static_cast<std::uint64_t>(s.get_int("seed"));
  const int rows = hw.rows;
  const int cols = hw.cols;

  // The tile: levels uniform in 0..L-1 (tile_instance draw 0 at each cell), DAC codes
  // uniform in 0..2^dac_bits-1 (draw 1 at element = row); faults and variation as in a
  // chip instance of trial 0, layer 0, tile 0.
  MappedMatrix m;
  m.hw = hw;
  m.K = rows;
  m.M = 1;
  m.n_row_tiles = m.n_col_tiles = 1;
  TileMap tm;
  tm.level.resize(static_cast<std::size_t>(rows) * cols);
  for (std::size_t e = 0; e < tm.level.size(); ++e) {
    const rng::Block b = rng::draw_block(seed, rng::Purpose::tile_instance, 0, 0, 0, static_cast<std::uint32_t>(e), 0);
    tm.level[e] = static_cast<std::uint8_t>(uniform_below(b.v[0], static_cast<std::uint32_t>(hw.levels())));
  }
  m.tiles.push_back(std::move(tm));
  std::vector<double> v(static_cast<std::size_t>(rows));
  std::vector<std::uint32_t> codes(static_cast<std::size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    const rng::Block b = rng::draw_block(seed, rng::Purpose::tile_instance, 0, 0, 0, static_cast<std::uint32_t>(r), 1);
    codes[r] = uniform_below(b.v[0], 1u << hw.dac_bits);
    v[r] = physics::row_voltage(codes[r], hw.dac_bits, hw.v_read);
  }
  std::vector<double> g;
  std::int64_t stuck_off = 0, stuck_on = 0;
  sample_tile_conductances(m, 0, seed, 0, 0, g, stuck_off, stuck_on);

  const physics::Wires wires{hw.r_wire, hw.r_driver, hw.r_sense};
  std::vector<double> ideal(static_cast<std::size_t>(cols)), current(static_cast<std::size_t>(cols));
  physics::currents_from_transfer(g.data(), rows, cols, v.data(), ideal.data());
  physics::IrStats stats;
  double error_bound = -1.0;
  std::string method;
  switch (hw.ir_drop) {
    case IrDrop::none:
      current = ideal;
      method = "no wire resistance";
      break;
    case IrDrop::static_resistance: {
      std::vector<double> geff(g.size());
      physics::transfer_static(g.data(), rows, cols, wires, geff.data());
      physics::currents_from_transfer(geff.data(), rows, cols, v.data(), current.data());
      method = "static series resistance";
      break;
    }
    case IrDrop::exact:
      physics::currents_direct(g.data(), rows, cols, wires, v.data(), current.data());
      method = "direct sparse Cholesky solve of the nodal equations";
      break;
    case IrDrop::iterative: {
      stats =
          physics::currents_iterative(g.data(), rows, cols, wires, v.data(), hw.ir_tol, hw.ir_max_iter, current.data());
      // |dI_c| <= g_sense |x - x*| <= g_sense ||r|| / lambda_min, ||r|| = residual ||b||.
      double vnorm = 0.0;
      for (double x : v) vnorm += x * x;
      const double b_norm = std::sqrt(vnorm) / (hw.r_driver + hw.r_wire);
      error_bound = stats.residual * b_norm / (hw.r_wire + hw.r_sense) /
                    physics::nodal_min_eigenvalue(g.data(), rows, cols, wires);
      method = "PCG with line Gauss-Seidel preconditioner";
      break;
    }
  }

  const std::string spice_out = s.has("spice_out") ? s.get_text("spice_out") : "";
  if (!spice_out.empty()) {
    const std::string title =
        fmt::format("xbarmc tile --rows {} --cols {} --seed {} (levels {}, dac_bits {}, v_read {} V)", rows, cols, seed,
                    hw.levels(), hw.dac_bits, hw.v_read);
    io::write_file_atomic(spice_out, physics::spice_netlist(g.data(), rows, cols, wires, v.data(), title));
  }

  if (s.get_bool("json")) {
    nlohmann::json j;
    j["rows"] = rows;
    j["cols"] = cols;
    j["seed"] = seed;
    j["ir_drop"] = to_string(hw.ir_drop);
    j["r_wire_ohm"] = hw.r_wire;
    j["r_driver_ohm"] = hw.r_driver;
    j["r_sense_ohm"] = hw.r_sense;
    j["stuck_off"] = stuck_off;
    j["stuck_on"] = stuck_on;
    j["dac_codes"] = codes;
    j["row_voltages_v"] = v;
    j["currents_a"] = current;
    j["currents_no_wire_a"] = ideal;
    if (hw.ir_drop == IrDrop::iterative) {
      j["iterations"] = stats.iterations;
      j["relative_residual"] = stats.residual;
      j["error_bound_a"] = error_bound;
    }
    if (!spice_out.empty()) j["spice_out"] = spice_out;
    std::cout << j.dump(1) << "\n";
    return 0;
  }
  std::cout << fmt::format("tile {} x {}, {} levels per cell, seed {}, {} stuck-off and {} stuck-on cells\n", rows,
                           cols, hw.levels(), seed, stuck_off, stuck_on);
  std::cout << fmt::format("IR drop: {} ({}), r_wire {} ohm, r_driver {} ohm, r_sense {} ohm\n", to_string(hw.ir_drop),
                           method, hw.r_wire, hw.r_driver, hw.r_sense);
  if (hw.ir_drop == IrDrop::iterative) {
    std::cout << fmt::format("  {} iterations, relative residual {:.3g}, error bound {:.3g} A per column\n",
                             stats.iterations, stats.residual, error_bound);
  }
  if (!spice_out.empty())
    std::cout << fmt::format("netlist written to {} (run: ngspice -b {})\n", spice_out, spice_out);
  std::cout << fmt::format("{:>6}  {:>22}  {:>22}\n", "column", "current (A)", "without wires (A)");
  for (int c = 0; c < cols; ++c) std::cout << fmt::format("{:>6}  {:>22.15e}  {:>22.15e}\n", c, current[c], ideal[c]);
  return 0;
}

}  // namespace

Command make_tile_command() {
  Command c;
  c.spec.name = "tile";
  c.spec.summary = "one random crossbar tile: column currents under an IR-drop model, ngspice netlist";
  c.spec.usage = "xbarmc tile --rows R --cols C --r-wire OHM --seed S --ir-drop MODE [--spice-out FILE] [--json]";
  c.spec.details =
      "Draws cell levels uniformly in 0..2^bits_per_cell-1 and one DAC code per row from the seed, applies\n"
      "faults and programming variation as configured, and prints each column's current (A) for the row\n"
      "voltages v_read * code / (2^dac_bits - 1). --spice-out writes the same circuit for `ngspice -b FILE`.\n"
      "The model and its units: docs/physics.md.";
  c.spec.schema = tile_keys();
  c.run = run_tile;
  return c;
}

}  // namespace xbarmc::app
