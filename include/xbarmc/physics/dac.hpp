#pragma once
/// \file
/// How quantized activations become row voltages. Unsigned codes run in one phase,
/// signed codes in two (the positive part, then the magnitude of the negative part).
/// Each phase's magnitude is applied in steps of dac_bits bits, least significant
/// first; step b drives row r with DAC code d_r = (magnitude >> (b * dac_bits)) &
/// (2^dac_bits - 1), at V_r = v_read * d_r / (2^dac_bits - 1).

#include <cstdint>
#include <string>

#include "xbarmc/errors.hpp"
#include "xbarmc/hd.hpp"
#include "xbarmc/quant.hpp"

namespace xbarmc::physics {

/// The read schedule of one input vector.
struct InputPlan {
  int phases = 1;          ///< 1 (unsigned codes) or 2 (signed: positive part, negative part)
  int magnitude_bits = 8;  ///< bits of each phase's magnitude
  int dac_bits = 1;        ///< bits per step
  int steps = 8;           ///< reads per phase: ceil(magnitude_bits / dac_bits)
  int dac_max = 1;         ///< 2^dac_bits - 1
};

/// The plan for `input_bits`-bit codes, signed or not.
XBARMC_HD InputPlan input_plan(int input_bits, int dac_bits, bool is_signed) {
  InputPlan p;
  p.phases = is_signed ? 2 : 1;
  p.magnitude_bits = is_signed ? input_bits - 1 : input_bits;
  p.dac_bits = dac_bits;
  p.steps = (p.magnitude_bits + dac_bits - 1) / dac_bits;
  p.dac_max = (1 << dac_bits) - 1;
  return p;
}

/// Magnitude applied in `phase`: max(q, 0) in phase 0, max(-q, 0) in phase 1.
XBARMC_HD std::uint32_t phase_magnitude(int q, int phase) {
  const int v = phase == 0 ? q : -q;
  return v > 0 ? static_cast<std::uint32_t>(v) : 0u;
}

/// DAC code of `step` of a magnitude.
XBARMC_HD std::uint32_t dac_code(std::uint32_t magnitude, int step, int dac_bits) {
  return (magnitude >> (step * dac_bits)) & ((1u << dac_bits) - 1u);
}

/// Row voltage of a DAC code (V).
XBARMC_HD double row_voltage(std::uint32_t code, int dac_bits, double v_read) {
  return v_read * static_cast<double>(code) / static_cast<double>((1u << dac_bits) - 1u);
}

/// Weight of `step` of `phase` in the digital reconstruction: +-2^(step * dac_bits).
XBARMC_HD double step_weight(int phase, int step, int dac_bits) {
  const double w = static_cast<double>(std::uint64_t{1} << (step * dac_bits));
  return phase == 0 ? w : -w;
}

/// Throws InvalidConfig when the quantizer's codes do not fit `input_bits` (host only).
inline void check_input_quantizer(const quant::Quantizer& xq, int input_bits) {
  const long long top = xq.is_signed() ? (1LL << (input_bits - 1)) - 1 : (1LL << input_bits) - 1;
  if (xq.hi > top || -static_cast<long long>(xq.lo) > top || (xq.is_signed() && input_bits < 2)) {
    throw InvalidConfig("input_bits: the activation quantizer's codes [" + std::to_string(xq.lo) + ", " +
                        std::to_string(xq.hi) + "] do not fit " + std::to_string(input_bits) +
                        "-bit inputs (unsigned: [0, 2^bits - 1]; signed: +-(2^(bits-1) - 1))");
  }
}

/// Quantizes n x k activations with `xq` into integer codes (host loop).
inline void quantize_inputs(const quant::Quantizer& xq, const float* x, std::int64_t count, std::int32_t* codes) {
  for (std::int64_t i = 0; i < count; ++i) codes[i] = xq.quantize(x[i]);
}

}  // namespace xbarmc::physics
