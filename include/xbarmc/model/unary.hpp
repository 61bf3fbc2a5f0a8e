#pragma once
/// \file
/// Unary elementwise operators as one host/device function, so the CPU executor and
/// the GPU network compute them with the same code. The float C math functions
/// (expf, erff, ...) are what std::exp(float) and friends call on the host, and
/// CUDA's device functions of the same names on the GPU.

#include <cmath>
#include <limits>

#include "xbarmc/hd.hpp"

namespace xbarmc::model {

/// The parameters some unary operators take (ONNX attributes or constant inputs).
struct UnaryParams {
  float alpha = 0.0f;                                  ///< LeakyRelu, Elu, HardSigmoid slope
  float beta = 0.0f;                                   ///< HardSigmoid offset
  float lo = -std::numeric_limits<float>::infinity();  ///< Clip minimum
  float hi = std::numeric_limits<float>::infinity();   ///< Clip maximum
};

enum class UnaryOp {
  relu,
  leaky_relu,
  sigmoid,
  tanh_,
  erf_,
  sqrt_,
  exp_,
  log_,
  neg,
  abs_,
  reciprocal,
  clip,
  hard_sigmoid,
  hard_swish,
  softplus,
  gelu,
  gelu_tanh,
  elu,
  floor_,
  ceil_,
  round_,
  not_,
  sign,
  identity
};

XBARMC_HD float apply_unary(UnaryOp op, float x, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::relu:
      return x > 0.0f ? x : 0.0f;
    case UnaryOp::leaky_relu:
      return x >= 0.0f ? x : p.alpha * x;
    case UnaryOp::sigmoid:
      return 1.0f / (1.0f + expf(-x));
    case UnaryOp::tanh_:
      return tanhf(x);
    case UnaryOp::erf_:
      return erff(x);
    case UnaryOp::sqrt_:
      return sqrtf(x);
    case UnaryOp::exp_:
      return expf(x);
    case UnaryOp::log_:
      return logf(x);
    case UnaryOp::neg:
      return -x;
    case UnaryOp::abs_:
      return fabsf(x);
    case UnaryOp::reciprocal:
      return 1.0f / x;
    case UnaryOp::clip:
      return x < p.lo ? p.lo : (x > p.hi ? p.hi : x);
    case UnaryOp::hard_sigmoid:
      return fmaxf(0.0f, fminf(1.0f, p.alpha * x + p.beta));
    case UnaryOp::hard_swish:
      return x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f));
    case UnaryOp::softplus:
      return x > 20.0f ? x : log1pf(expf(x));
    case UnaryOp::gelu:
      return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case UnaryOp::gelu_tanh:
      return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case UnaryOp::elu:
      return x >= 0.0f ? x : p.alpha * (expf(x) - 1.0f);
    case UnaryOp::floor_:
      return floorf(x);
    case UnaryOp::ceil_:
      return ceilf(x);
    case UnaryOp::round_:
      return nearbyintf(x);  // half to even, as ONNX asks
    case UnaryOp::not_:
      return x == 0.0f ? 1.0f : 0.0f;
    case UnaryOp::sign:
      return static_cast<float>((x > 0.0f) - (x < 0.0f));
    case UnaryOp::identity:
      return x;
  }
  return x;
}

}  // namespace xbarmc::model
