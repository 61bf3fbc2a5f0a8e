#pragma once
/// \file
/// The float arithmetic of the binary operators, the reductions, and the index maps of
/// Tile and Pad, as host/device functions: the CPU executor and the GPU network compute
/// them with the same code (like model::apply_unary, unary.hpp). The GPU adds the products
/// of the reductions without fusing them into FMAs, as the CPU does, so reductions agree
/// bit for bit.

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "xbarmc/hd.hpp"

namespace xbarmc::model {

enum class BinaryOp {
  add,
  sub,
  mul,
  div,
  pow_,
  max_,
  min_,
  mod,
  equal,
  less,
  greater,
  less_eq,
  greater_eq,
  and_,
  or_,
  xor_,
  prelu
};

/// The result of an arithmetic binary operator (comparisons and logical operators give
/// booleans: not here), on floats (activations) or integers (shape arithmetic, host
/// only). Floats: Mod is C's fmod (ONNX requires fmod = 1 for floats), Pow squares exactly.
/// Integers: division and Mod by zero give 0, Mod takes the divisor's sign (fmod = 0).
/// PRelu's b is the slope.
template <typename T>
XBARMC_HD T apply_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add:
      return a + b;
    case BinaryOp::sub:
      return a - b;
    case BinaryOp::mul:
      return a * b;
    case BinaryOp::div:
      if constexpr (std::is_integral_v<T>)
        return b == 0 ? 0 : a / b;
      else
        return a / b;
    case BinaryOp::pow_:
      if constexpr (std::is_integral_v<T>)
        return static_cast<T>(pow(static_cast<double>(a), static_cast<double>(b)));
      else
        return b == 2.0f ? a * a : powf(a, b);
    case BinaryOp::max_:
      return a > b ? a : b;
    case BinaryOp::min_:
      return a < b ? a : b;
    case BinaryOp::mod:
      if constexpr (std::is_integral_v<T>) {
        if (b == 0) return 0;
        const T r = a % b;
        return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
      } else {
        return fmodf(a, b);
      }
    case BinaryOp::prelu:
      return a >= 0 ? a : a * b;
    default:
      return a;
  }
}

/// True for the comparisons and logical operators, whose results are booleans (0 or 1:
/// int64 on the CPU, float on the GPU).
XBARMC_HD bool is_comparison(BinaryOp op) {
  return op == BinaryOp::equal || op == BinaryOp::less || op == BinaryOp::greater || op == BinaryOp::less_eq ||
         op == BinaryOp::greater_eq || op == BinaryOp::and_ || op == BinaryOp::or_ || op == BinaryOp::xor_;
}

/// The result (0 or 1) of a comparison or logical operator; logical operators take any
/// nonzero value as true.
template <typename T>
XBARMC_HD std::int64_t apply_compare(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::equal:
      return a == b;
    case BinaryOp::less:
      return a < b;
    case BinaryOp::greater:
      return a > b;
    case BinaryOp::less_eq:
      return a <= b;
    case BinaryOp::greater_eq:
      return a >= b;
    case BinaryOp::and_:
      return (a != 0) && (b != 0);
    case BinaryOp::or_:
      return (a != 0) || (b != 0);
    case BinaryOp::xor_:
      return (a != 0) != (b != 0);
    default:
      return 0;
  }
}

/// Reductions (ReduceMean, ReduceSum, ...), accumulated in double in the input's memory
/// order: reduce_init, then reduce_step per value, then reduce_finish over `count` values.
enum class Reduce { mean, sum, max, min, prod, l2, sum_square };

XBARMC_HD double reduce_init(Reduce op) {
  return op == Reduce::max ? -HUGE_VAL : op == Reduce::min ? HUGE_VAL : op == Reduce::prod ? 1.0 : 0.0;
}

XBARMC_HD double reduce_step(Reduce op, double a, double v) {
  switch (op) {
    case Reduce::max:
      return v > a ? v : a;
    case Reduce::min:
      return v < a ? v : a;
    case Reduce::prod:
      return a * v;
    case Reduce::l2:
    case Reduce::sum_square:
#if defined(__CUDA_ARCH__)
      return __dadd_rn(a, __dmul_rn(v, v));  // no FMA: the CPU rounds the product
#else
      return a + v * v;
#endif
    default:
      return a + v;
  }
}

XBARMC_HD float reduce_finish(Reduce op, double a, std::int64_t count) {
  if (op == Reduce::mean) a /= static_cast<double>(count);
  if (op == Reduce::l2) a = sqrt(a);
  return static_cast<float>(a);
}

/// Softmax (log: LogSoftmax) of the `dim` values x[k * stride] into y[k * stride] (y may be
/// x): the max, then the float sum of exp(x - max) in order.
XBARMC_HD void softmax_line(const float* x, float* y, std::int64_t dim, std::int64_t stride, bool log) {
  float m = -HUGE_VALF;
  for (std::int64_t k = 0; k < dim; ++k) m = x[k * stride] > m ? x[k * stride] : m;
  float s = 0.0f;
  if (log) {
    for (std::int64_t k = 0; k < dim; ++k) s += expf(x[k * stride] - m);
    const float ls = logf(s);
    for (std::int64_t k = 0; k < dim; ++k) y[k * stride] = x[k * stride] - m - ls;
  } else {
    for (std::int64_t k = 0; k < dim; ++k) {
      const float e = expf(x[k * stride] - m);
      y[k * stride] = e;
      s += e;
    }
    const float inv = 1.0f / s;
    for (std::int64_t k = 0; k < dim; ++k) y[k * stride] *= inv;
  }
}

/// GlobalMaxPool / GlobalAveragePool of one plane of n values: the max from -inf, or the
/// float sum in order divided by n.
XBARMC_HD float global_pool(bool max, const float* x, std::int64_t n) {
  if (max) {
    float m = -HUGE_VALF;
    for (std::int64_t k = 0; k < n; ++k) m = x[k] > m ? x[k] : m;
    return m;
  }
  float s = 0.0f;
  for (std::int64_t k = 0; k < n; ++k) s += x[k];
  return s / static_cast<float>(n);
}

/// Tile and Pad: the input element an output element reads.
enum class IndexMap { tile, pad_constant, pad_reflect, pad_edge };

/// For output coordinate `i` on dimension of input size `n` with `lead` leading pads (0 for
/// Tile): the input coordinate, or -1 where constant padding applies.
XBARMC_HD std::int64_t index_map_source(IndexMap mode, std::int64_t i, std::int64_t n, std::int64_t lead) {
  if (mode == IndexMap::tile) return i % n;
  i -= lead;
  if (i >= 0 && i < n) return i;
  if (mode == IndexMap::pad_constant) return -1;
  if (mode == IndexMap::pad_edge) return i < 0 ? 0 : n - 1;
  const std::int64_t period = 2 * (n - 1);  // reflect
  if (period == 0) return 0;
  i = ((i % period) + period) % period;
  return i >= n ? period - i : i;
}

}  // namespace xbarmc::model
