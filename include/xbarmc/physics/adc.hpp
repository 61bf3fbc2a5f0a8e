#pragma once
/// \file
/// The column ADC in the level domain. A read's column current I_c becomes the
/// level-domain signal s_c = ((2^dac_bits - 1) I_c / v_read - g_min D) / dg, where
/// D = sum_r d_r is known digitally; for ideal cells s_c = sum_r d_r level[r][c], an
/// integer. The ADC has full scale F_c (level units) and step D_c = max(1, F_c /
/// (2^adc_bits - 1)); it outputs code = clamp(rint(s_c * (1 / D_c)), 0, 2^adc_bits - 1)
/// (the reciprocal rounded to float), reconstructed as code * D_c. adc_bits = 0 is an
/// ideal ADC (s passes unchanged).

#include <cmath>
#include <cstdint>
#include <cstring>

#include "xbarmc/hd.hpp"
#include "xbarmc/physics/dac.hpp"

namespace xbarmc::physics {

/// Level-domain signal of a column current I (A) in a read with DAC code sum D.
XBARMC_HD double level_signal(double current, double dac_code_sum, int dac_bits, double v_read, double g_min,
                              double dg) {
  const double dac_max = static_cast<double>((1u << dac_bits) - 1u);
  return (dac_max * current / v_read - g_min * dac_code_sum) / dg;
}

/// Full scale of range `max`: (2^dac_bits - 1) (levels - 1) rows_used (level units).
XBARMC_HD float max_full_scale(int dac_bits, int levels, int rows_used) {
  return static_cast<float>(static_cast<double>((1u << dac_bits) - 1u) * (levels - 1) * rows_used);
}

/// ADC step D_c = max(1, F_c / (2^adc_bits - 1)) in level units (1 for an ideal ADC).
XBARMC_HD float adc_step(float full_scale, int adc_bits) {
  if (adc_bits <= 0) return 1.0f;
  const float d = full_scale / static_cast<float>((1u << adc_bits) - 1u);
  return d > 1.0f ? d : 1.0f;
}

/// Reciprocal of the step, rounded to float once: every backend multiplies by it, so
/// codes agree bit for bit (1 exactly for a lossless ADC).
XBARMC_HD float adc_inverse_step(float step) { return 1.0f / step; }

/// ADC code of signal s: clamp(rint(s * inv_step), 0, 2^adc_bits - 1) (adc_bits > 0).
XBARMC_HD float adc_code(float s, float inv_step, int adc_bits) {
  const float top = static_cast<float>((1u << adc_bits) - 1u);
  float c = rintf(s * inv_step);
  c = c < 0.0f ? 0.0f : c;
  return c > top ? top : c;
}

/// adc_code as an int, without float-to-integer conversions (a GPU converts at a fraction
/// of its float rate): rint commutes with clamping to the integers 0 and
/// top, and a float in [0, 2^22] plus 1.5 x 2^23 lands in [2^23, 2^24), where the float's
/// spacing is 1, so the addition rounds it to the nearest integer, ties to even, as rintf,
/// and the integer is the sum's low mantissa bits. Equal to static_cast<int>(adc_code(s,
/// inv_step, adc_bits)) for every s that is not NaN and 1 <= adc_bits <= 22
/// (tests/unit/test_physics_fast.cpp checks it).
XBARMC_HD int adc_code_int(float s, float inv_step, int adc_bits) {
  const float top = static_cast<float>((1u << adc_bits) - 1u);
  float x = s * inv_step;
  x = x > 0.0f ? x : 0.0f;
  x = x < top ? x : top;
  const float shifted = x + 12582912.0f;  // 1.5 x 2^23
  std::int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  return bits - 0x4B400000;  // the bits of 1.5 x 2^23
}

/// The ADC output in units of its step: the code, or s itself for an ideal ADC
/// (adc_bits = 0, step 1).
XBARMC_HD float adc_output(float s, float inv_step, int adc_bits) {
  return adc_bits <= 0 ? s : adc_code(s, inv_step, adc_bits);
}

/// What the digital side reconstructs from a column's signal (level units):
/// adc_output * step.
XBARMC_HD float adc_reconstruct(float s, float step, float inv_step, int adc_bits) {
  return adc_output(s, inv_step, adc_bits) * step;
}

/// One phase's term of shift_add_column: the steps' outputs `out(st)` of phase `ph`
/// weighted and summed in step order, times the ADC step. shift_add_column adds these
/// terms in phase order; the warp kernel, which reads long signed inputs one phase per
/// pass, adds them the same way.
template <class Out>
XBARMC_HD double shift_add_phase(const Out& out, int ph, int steps, int dac_bits, bool float_acc, float step) {
  double pd = 0.0;
  float pf = 0.0f;
  for (int st = 0; st < steps; ++st) {
    const float o = out(st);
    const double w = step_weight(ph, st, dac_bits);
    if (float_acc) {
      pf += static_cast<float>(w) * o;
    } else {
      pd += w * static_cast<double>(o);
    }
  }
  return (float_acc ? static_cast<double>(pf) : pd) * step;
}

/// A column's digitized value from its reads' ADC outputs, accumulated as the CPU
/// backend does (kernels/cpu/crossbar.cpp, vectorized over columns there; the GPU kernels
/// call this): per phase, the steps' outputs weighted by
/// +-2^(step * dac_bits) in step order (in float when `float_acc`, else in double),
/// then times the ADC step, phases in order. `out(read)` gives the ADC output of a read.
template <class Out>
XBARMC_HD double shift_add_column(const Out& out, int phases, int steps, int dac_bits, bool float_acc, float step) {
  double column = 0.0;
  for (int ph = 0; ph < phases; ++ph)
    column += shift_add_phase([&](int st) { return out(ph * steps + st); }, ph, steps, dac_bits, float_acc, step);
  return column;
}

}  // namespace xbarmc::physics
