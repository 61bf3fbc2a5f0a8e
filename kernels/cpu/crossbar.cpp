// The fast crossbar product: batches of vectors, per tile and phase one subset-sum
// read of every bit plane, then per read the ADC and the shift-add, all vectorized
// over columns.
#include "xbarmc/physics/crossbar.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"
#include "xbarmc/physics/adc.hpp"
#include "xbarmc/physics/dac.hpp"

namespace xbarmc {

namespace {

// Checks shared by the fast path and the reference.
void check_call(const MappedMatrix& m, const ChipMatrix& chip, const quant::Quantizer& xq, std::int64_t n,
                std::int64_t vector_index_base) {
  physics::check_input_quantizer(xq, m.hw.input_bits);
  if (m.hw.adc_range == AdcRange::calibrated && !m.adc_calibrated) {
    throw InvalidConfig("adc_range: calibrated ADC ranges need calibrate_adc() on calibration inputs first");
  }
  if (chip.tiles.size() != m.tiles.size()) {
    throw Error(fmt::format("chip instance has {} tiles but the mapped matrix {}; instantiate() it from this matrix",
                            chip.tiles.size(), m.tiles.size()));
  }
  if (m.hw.read_noise > 0 && (vector_index_base < 0 || vector_index_base + n > (std::int64_t{1} << 32))) {
    throw InvalidConfig(
        fmt::format("read_noise: input vector indices up to {} exceed the 2^32 the random counter addresses per trial",
                    vector_index_base + n));
  }
}

// Per physical column: weight in the digital sum (sign * 2^(slice * bpc)), 0 if unused.
std::vector<double> column_weights(const TileMap& tm, const HardwareConfig& hw) {
  std::vector<double> w(tm.col_role.size(), 0.0);
  for (std::size_t c = 0; c < w.size(); ++c) {
    const ColumnRole& role = tm.col_role[c];
    if (role.logical >= 0) w[c] = role.sign * std::ldexp(1.0, role.slice * hw.bits_per_cell);
  }
  return w;
}

int used_columns(const TileMap& tm) {
  int used = 0;
  for (int c = 0; c < static_cast<int>(tm.col_role.size()); ++c) {
    if (tm.col_role[c].logical >= 0) used = c + 1;
  }
  return used;
}

void subtract_offset(const MappedMatrix& m, const std::int32_t* q, std::int64_t n, double* acc) {
  const int offset = m.hw.weight_offset();
  if (offset == 0) return;
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t sum = 0;
    for (std::int64_t k = 0; k < m.K; ++k) sum += q[i * m.K + k];
    const double sub = static_cast<double>(offset) * static_cast<double>(sum);
    for (std::int64_t j = 0; j < m.M; ++j) acc[i * m.M + j] -= sub;
  }
}

// Where the read noise of the current vector is drawn.
struct NoiseSite {
  std::uint64_t seed;
  std::uint32_t trial, layer, tile, vector_index;
};

// One phase of one vector on one tile: each step's column signals (bit planes
// recombined for a multi-bit DAC), read noise, ADC, and the step-weighted sum of the
// ADC outputs; ca[c] += that sum times the column's ADC step.
template <typename Acc>
void digitize_phase(const HardwareConfig& hw, const physics::InputPlan& plan, int phase, const float* sig, int stride,
                    int used, const std::uint16_t* mag, int rows_hi, const TileState& ts, const NoiseSite* noise,
                    CrossbarWorkspace& ws, std::vector<Acc>& acc, double* ca) {
  const int planes = plan.magnitude_bits;
  const int cols = hw.cols;
  const int bits = hw.adc_bits;
  const float* inv = ws.adc_inverse_step.data();
  acc.assign(static_cast<std::size_t>(used), Acc(0));
  for (int step = 0; step < plan.steps; ++step) {
    const float* s = sig + static_cast<std::size_t>(step) * stride;
    if (plan.dac_bits > 1 || noise) {
      float* t = ws.step_signal.data();
      if (plan.dac_bits == 1) {
        std::copy(s, s + used, t);
      } else {
        std::fill(t, t + used, 0.0f);
        for (int bit = 0; bit < plan.dac_bits; ++bit) {
          const int p = step * plan.dac_bits + bit;
          if (p >= planes) break;
          const float w = static_cast<float>(1u << bit);
          const float* sp = sig + static_cast<std::size_t>(p) * stride;
          for (int c = 0; c < used; ++c) t[c] += w * sp[c];
        }
      }
      if (noise) {
        std::vector<float>& var = ws.noise_var;
        var.assign(static_cast<std::size_t>(used), 0.0f);
        for (int r = 0; r < rows_hi; ++r) {
          const std::uint32_t d = physics::dac_code(mag[r], step, plan.dac_bits);
          if (d == 0) continue;
          const float d2 = static_cast<float>(d) * static_cast<float>(d);
          const float* gain = &ts.noise_gain[static_cast<std::size_t>(r) * cols];
          for (int c = 0; c < used; ++c) var[c] += d2 * gain[c];
        }
        const float rn = static_cast<float>(hw.read_noise);
        for (int c = 0; c < used; ++c) {
          if (var[c] == 0.0f) continue;
          t[c] += rn * std::sqrt(var[c]) *
                  physics::read_noise_z(noise->seed, noise->trial, noise->layer, noise->tile, noise->vector_index,
                                        phase, step, plan.steps, cols, c);
        }
      }
      s = t;
    }
    const Acc w = static_cast<Acc>(physics::step_weight(phase, step, plan.dac_bits));
    Acc* a = acc.data();
    for (int c = 0; c < used; ++c) a[c] += w * static_cast<Acc>(physics::adc_output(s[c], inv[c], bits));
  }
  const float* step_size = ws.adc_step.data();
  for (int c = 0; c < used; ++c) ca[c] += static_cast<double>(acc[c]) * step_size[c];
}

}  // namespace

bool float_phase_accumulator(const HardwareConfig& hw, const physics::InputPlan& plan) {
  const double top = hw.adc_bits > 0 ? std::ldexp(1.0, hw.adc_bits) - 1.0
                                     : physics::max_full_scale(plan.dac_bits, hw.levels(), hw.rows);
  double weights = 0.0;
  for (int step = 0; step < plan.steps; ++step) weights += std::ldexp(1.0, step * plan.dac_bits);
  return top * weights < 16777216.0;  // 2^24
}

void crossbar_matmul_raw(const MappedMatrix& m, const ChipMatrix& chip, const quant::Quantizer& xq, const float* X,
                         std::int64_t n, double* out, CrossbarWorkspace& ws, std::uint64_t seed, std::uint32_t trial,
                         std::uint32_t layer_id, std::int64_t vector_index_base) {
  check_call(m, chip, xq, n, vector_index_base);
  const HardwareConfig& hw = m.hw;
  const physics::InputPlan plan = physics::input_plan(hw.input_bits, hw.dac_bits, xq.is_signed());
  const int planes = plan.magnitude_bits;
  const int rows = hw.rows;
  const int cols = hw.cols;
  const int stride = (cols + physics::table_block_cols - 1) / physics::table_block_cols * physics::table_block_cols;
  const bool float_acc = float_phase_accumulator(hw, plan);

  for (std::int64_t b0 = 0; b0 < n; b0 += crossbar_batch) {
    const int nv = static_cast<int>(std::min<std::int64_t>(crossbar_batch, n - b0));
    ws.q.resize(static_cast<std::size_t>(nv) * m.K);
    physics::quantize_inputs(xq, X + b0 * m.K, nv * m.K, ws.q.data());
    double* acc = out + b0 * m.M;
    std::fill(acc, acc + static_cast<std::size_t>(nv) * m.M, 0.0);
    ws.signal.resize(static_cast<std::size_t>(nv) * planes * stride);
    ws.step_signal.resize(static_cast<std::size_t>(stride));
    ws.column_acc.resize(static_cast<std::size_t>(nv) * cols);
    ws.adc_step.resize(static_cast<std::size_t>(cols));
    ws.adc_inverse_step.resize(static_cast<std::size_t>(cols));
    const std::vector<std::int32_t>* planned_rows = nullptr;  // tiles of one row tile share their read plans
    int rows_hi = rows;  // rows up to the last one holding an input: the rest are never driven

    for (std::size_t t = 0; t < m.tiles.size(); ++t) {
      const TileMap& tm = m.tiles[t];
      const TileState& ts = chip.tiles[t];
      const int used = used_columns(tm);
      if (used == 0) continue;
      const int blocks = (used + physics::table_block_cols - 1) / physics::table_block_cols;
      for (int c = 0; c < cols; ++c) {
        ws.adc_step[c] = physics::adc_step(tm.adc_full_scale[c], hw.adc_bits);
        ws.adc_inverse_step[c] = physics::adc_inverse_step(ws.adc_step[c]);
      }
      std::fill(ws.column_acc.begin(), ws.column_acc.end(), 0.0);
      const bool replan = planned_rows == nullptr || *planned_rows != tm.row_of;
      planned_rows = &tm.row_of;
      if (replan) {
        rows_hi = 0;
        for (int r = 0; r < rows; ++r)
          if (tm.row_of[r] >= 0) rows_hi = r + 1;
      }

      for (int phase = 0; phase < plan.phases; ++phase) {
        std::vector<std::uint16_t>& magnitude = ws.magnitude[phase];
        physics::ReadPlan& rp = ws.plan[phase];
        if (replan) {
          magnitude.resize(static_cast<std::size_t>(nv) * std::max(rows_hi, 1));
          for (int v = 0; v < nv; ++v) {
            const std::int32_t* qv = &ws.q[static_cast<std::size_t>(v) * m.K];
            std::uint16_t* mag = &magnitude[static_cast<std::size_t>(v) * rows_hi];
            for (int r = 0; r < rows_hi; ++r) {
              const std::int32_t k = tm.row_of[r];
              mag[r] = k < 0 ? 0 : static_cast<std::uint16_t>(physics::phase_magnitude(qv[k], phase));
            }
          }
          physics::plan_reads(magnitude.data(), nv, rows_hi, planes, rp);
        }
        physics::subset_read(ts.table, rp, nv, blocks, ws.signal.data(), stride);
        for (int v = 0; v < nv; ++v) {
          if (rp.count[v] == 0) continue;  // no row driven: every read is 0
          const NoiseSite site{seed, trial, layer_id, static_cast<std::uint32_t>(t),
                               static_cast<std::uint32_t>(vector_index_base + b0 + v)};
          const float* sig = &ws.signal[static_cast<std::size_t>(v) * planes * stride];
          const std::uint16_t* mag = &magnitude[static_cast<std::size_t>(v) * rows_hi];
          double* ca = &ws.column_acc[static_cast<std::size_t>(v) * cols];
          const NoiseSite* noise = hw.read_noise > 0 ? &site : nullptr;
          if (float_acc) {
            digitize_phase(hw, plan, phase, sig, stride, used, mag, rows_hi, ts, noise, ws, ws.phase_acc_f, ca);
          } else {
            digitize_phase(hw, plan, phase, sig, stride, used, mag, rows_hi, ts, noise, ws, ws.phase_acc_d, ca);
          }
        }
      }
      // Physical columns to outputs, column by column over the batch (consecutive
      // columns of one output would otherwise chain through one memory location).
      const std::vector<double> wcol = column_weights(tm, hw);
      for (int c = 0; c < used; ++c) {
        if (wcol[c] == 0.0) continue;
        const std::int32_t logical = tm.col_role[c].logical;
        for (int v = 0; v < nv; ++v) {
          acc[static_cast<std::size_t>(v) * m.M + logical] +=
              wcol[c] * ws.column_acc[static_cast<std::size_t>(v) * cols + c];
        }
      }
    }
    subtract_offset(m, ws.q.data(), nv, acc);
  }
}

void crossbar_matmul(const MappedMatrix& m, const ChipMatrix& chip, const quant::Quantizer& xq, const float* X,
                     std::int64_t n, float* Y, CrossbarWorkspace& ws, std::uint64_t seed, std::uint32_t trial,
                     std::uint32_t layer_id, std::int64_t vector_index_base) {
  ws.acc.resize(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)) * m.M);
  crossbar_matmul_raw(m, chip, xq, X, n, ws.acc.data(), ws, seed, trial, layer_id, vector_index_base);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < m.M; ++j) {
      Y[i * m.M + j] = static_cast<float>(ws.acc[i * m.M + j] * static_cast<double>(m.weight_scale[j]) *
                                          static_cast<double>(xq.scale));
    }
  }
}

void crossbar_matmul_reference(const MappedMatrix& m, const ChipMatrix& chip, const quant::Quantizer& xq,
                               const float* X, std::int64_t n, double* out, std::uint64_t seed, std::uint32_t trial,
                               std::uint32_t layer_id, std::int64_t vector_index_base) {
  check_call(m, chip, xq, n, vector_index_base);
  const HardwareConfig& hw = m.hw;
  const physics::InputPlan plan = physics::input_plan(hw.input_bits, hw.dac_bits, xq.is_signed());
  const int rows = hw.rows;
  const int cols = hw.cols;
  const double dg = hw.level_step();
  std::vector<std::int32_t> q(static_cast<std::size_t>(m.K));
  std::vector<double> v(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < n; ++i) {
    physics::quantize_inputs(xq, X + i * m.K, m.K, q.data());
    double* acc = out + i * m.M;
    std::fill(acc, acc + m.M, 0.0);
    for (std::size_t t = 0; t < m.tiles.size(); ++t) {
      const TileMap& tm = m.tiles[t];
      const TileState& ts = chip.tiles[t];
      for (int phase = 0; phase < plan.phases; ++phase) {
        for (int step = 0; step < plan.steps; ++step) {
          double code_sum = 0.0;
          for (int r = 0; r < rows; ++r) {
            const std::int32_t k = tm.row_of[r];
            const std::uint32_t d =
                k < 0 ? 0u : physics::dac_code(physics::phase_magnitude(q[k], phase), step, plan.dac_bits);
            code_sum += d;
            v[r] = physics::row_voltage(d, plan.dac_bits, hw.v_read);
          }
          for (int c = 0; c < cols; ++c) {
            const ColumnRole& role = tm.col_role[c];
            if (role.logical < 0) continue;
            double current = 0.0;    // A
            double noise_var = 0.0;  // A^2
            for (int r = 0; r < rows; ++r) {
              const double cell = v[r] * ts.geff[static_cast<std::size_t>(r) * cols + c];
              current += cell;
              noise_var += cell * cell;
            }
            double s = physics::level_signal(current, code_sum, plan.dac_bits, hw.v_read, hw.g_min, dg);
            if (hw.read_noise > 0 && noise_var > 0) {
              const double sigma_current = hw.read_noise * std::sqrt(noise_var);
              s += sigma_current * plan.dac_max / (hw.v_read * dg) *
                   physics::read_noise_z(seed, trial, layer_id, static_cast<std::uint32_t>(t),
                                         static_cast<std::uint32_t>(vector_index_base + i), phase, step, plan.steps,
                                         cols, c);
            }
            const float step_size = physics::adc_step(tm.adc_full_scale[c], hw.adc_bits);
            const double sh = physics::adc_reconstruct(static_cast<float>(s), step_size,
                                                       physics::adc_inverse_step(step_size), hw.adc_bits);
            acc[role.logical] += physics::step_weight(phase, step, plan.dac_bits) * role.sign *
                                 std::ldexp(1.0, role.slice * hw.bits_per_cell) * sh;
          }
        }
      }
    }
    subtract_offset(m, q.data(), 1, acc);
  }
}

}  // namespace xbarmc
