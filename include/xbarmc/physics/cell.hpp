#pragma once
/// \file
/// Per-cell physics shared by the CPU and CUDA backends: nominal conductance of a
/// level, stuck-at faults and programming variation, each drawn with Philox at the
/// cell's logical coordinates (seed, trial, layer, tile, element = row * cols + col).
/// The integer decisions (which cell is stuck) are bitwise identical on every backend;
/// conductances agree within the rounding of exp/log/cos.

#include <cstdint>

#include "xbarmc/hardware.hpp"
#include "xbarmc/hd.hpp"
#include "xbarmc/rng/counter.hpp"
#include "xbarmc/rng/distributions.hpp"

namespace xbarmc::physics {

/// What happened to a cell in one chip instance.
enum class CellFault : std::uint8_t { none = 0, stuck_off = 1, stuck_on = 2 };

/// The per-cell model with its Bernoulli thresholds computed once on the host.
struct CellModel {
  double g_min = 0;             ///< S
  double g_max = 0;             ///< S
  double dg = 0;                ///< level step (S)
  double sigma = 0;             ///< variation of ordinary cells
  double sigma_verified = 0;    ///< variation of write-verified cells
  bool lognormal = true;        ///< lognormal or normal variation
  std::uint64_t t_off = 0;      ///< fault word below t_off: stuck-off
  std::uint64_t t_on = 0;       ///< t_off <= word < t_on: stuck-on
  bool draw_faults = false;     ///< false when both probabilities are 0 (skips the draw, same result)
  bool draw_variation = false;  ///< false when both sigmas are 0 (skips the draw, same result)
};

/// The cell model of `hw` (host only: thresholds via rng::bernoulli_thresholds).
inline CellModel cell_model(const HardwareConfig& hw) {
  CellModel m;
  m.g_min = hw.g_min;
  m.g_max = hw.g_max;
  m.dg = hw.level_step();
  m.sigma = hw.sigma;
  m.sigma_verified = hw.sigma_write_verify;
  m.lognormal = hw.variation == Variation::lognormal;
  const rng::Thresholds2 t = rng::bernoulli_thresholds(hw.p_stuck_off, hw.p_stuck_on, "p_stuck_off", "p_stuck_on");
  m.t_off = t.first;
  m.t_on = t.second;
  m.draw_faults = t.second > 0;
  m.draw_variation = hw.sigma > 0 || hw.sigma_write_verify > 0;
  return m;
}

/// Target conductance of `level`: g_min + level * dg (S).
XBARMC_HD double nominal_conductance(const CellModel& m, int level) { return m.g_min + level * m.dg; }

/// Fault decision from word 0 of the cell's fault_map draw (cumulative thresholds).
XBARMC_HD CellFault cell_fault(const CellModel& m, std::uint32_t word) {
  if (word < m.t_off) return CellFault::stuck_off;
  if (word < m.t_on) return CellFault::stuck_on;
  return CellFault::none;
}

/// Programmed conductance of a healthy cell at `level` for the standard normal z (S):
/// lognormal G exp(sigma z); normal G + sigma (g_max - g_min) z, clipped at 0.
XBARMC_HD double programmed_conductance(const CellModel& m, int level, bool verified, double z) {
  const double g = nominal_conductance(m, level);
  const double s = verified ? m.sigma_verified : m.sigma;
  if (m.lognormal) return g * rng::lognormal_factor(s, z);
  const double v = g + s * (m.g_max - m.g_min) * z;
  return v > 0.0 ? v : 0.0;
}

/// The conductance of one cell in one chip instance (S), drawing its fault
/// (Purpose::fault_map, word 0) and variation (Purpose::programming, z = normalf(w0, w1))
/// at (seed, trial, layer, tile, element). Stuck cells take g_min / g_max exactly.
XBARMC_HD double sample_cell(const CellModel& m, std::uint64_t seed, std::uint32_t trial, std::uint32_t layer,
                             std::uint32_t tile, std::uint32_t element, int level, bool verified, CellFault* fault) {
  CellFault f = CellFault::none;
  if (m.draw_faults) {
    const rng::Block b = rng::draw_block(seed, rng::Purpose::fault_map, trial, layer, tile, element);
    f = cell_fault(m, b.v[0]);
  }
  *fault = f;
  if (f == CellFault::stuck_off) return m.g_min;
  if (f == CellFault::stuck_on) return m.g_max;
  if (!m.draw_variation) return nominal_conductance(m, level);
  const rng::Block b = rng::draw_block(seed, rng::Purpose::programming, trial, layer, tile, element);
  return programmed_conductance(m, level, verified, rng::normalf(b.v[0], b.v[1]));
}

/// Effective level of a transfer conductance: (g - g_min) / dg. Exactly the level for
/// an ideal cell; the level-domain signal of a read is sum_r d_r * effective_level.
XBARMC_HD double effective_level(const CellModel& m, double g) { return (g - m.g_min) / m.dg; }

}  // namespace xbarmc::physics
