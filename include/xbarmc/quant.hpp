#pragma once
/// \file
/// Symmetric uniform quantization shared by the digital (quantized) inference and
/// the crossbar simulation, on host and device: q = clamp(rint(x / scale), lo, hi),
/// x ~ q * scale. rint rounds half to even on both the CPU and the GPU.

#include <cmath>
#include <cstdint>

#include "xbarmc/hd.hpp"

namespace xbarmc::quant {

/// A quantizer: integer range [lo, hi] and the real value of one step.
struct Quantizer {
  float scale = 1.0f;  ///< real value of one integer step
  int lo = 0;          ///< smallest code
  int hi = 0;          ///< largest code

  XBARMC_HD int quantize(float x) const {
    // +-0 without the division: 0 / scale is +-0 for any finite scale > 0, which rounds to
    // +-0 and clamps as 0 does below. On a GPU a zero dividend sends the IEEE division
    // down its slow path (FCHK); zeros are common (padding, ReLU outputs): LeNet-5's conv2
    // spent 4.8% of its instructions there (Nsight Compute, H200, 2026-11-27).
    if (x == 0.0f) {
      const int z = lo > 0 ? lo : 0;
      return z > hi ? hi : z;
    }
    float q = rintf(x / scale);
    q = q < static_cast<float>(lo) ? static_cast<float>(lo) : q;
    q = q > static_cast<float>(hi) ? static_cast<float>(hi) : q;
    return static_cast<int>(q);
  }
  XBARMC_HD float dequantize(int q) const { return static_cast<float>(q) * scale; }
  /// True when codes can be negative (signed inputs are applied in two phases).
  XBARMC_HD bool is_signed() const { return lo < 0; }
};

/// Weights with `bits` bits including the sign: codes in [-(2^(bits-1)-1), 2^(bits-1)-1],
/// scale = max_abs / (2^(bits-1)-1) (1 when max_abs is 0: an all-zero channel stays all zero).
inline Quantizer weight_quantizer(float max_abs, int bits) {
  const int hi = (1 << (bits - 1)) - 1;
  return Quantizer{max_abs > 0.0f ? max_abs / static_cast<float>(hi) : 1.0f, -hi, hi};
}

/// Activations observed in [min, max] with `bits` bits: unsigned codes [0, 2^bits-1]
/// when min >= 0 (e.g. after ReLU), else signed [-(2^(bits-1)-1), 2^(bits-1)-1] with
/// the scale set by max(|min|, |max|).
inline Quantizer activation_quantizer(float min, float max, int bits) {
  if (min >= 0.0f) {
    const int hi = (1 << bits) - 1;
    return Quantizer{max > 0.0f ? max / static_cast<float>(hi) : 1.0f, 0, hi};
  }
  const float max_abs = std::fmax(std::fabs(min), std::fabs(max));
  return weight_quantizer(max_abs, bits);
}

}  // namespace xbarmc::quant
