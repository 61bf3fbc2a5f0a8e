#pragma once
// What the two crossbar kernels share (crossbar_cuda.cu: the block kernel; crossbar_warp.cu:
// the warp kernel): the launch parameters, the input gather and output addressing of a
// layer's vectors, and host helpers. Internal to kernels/cuda/.

#include <cuda_runtime.h>

#include <cstdint>

#include "crossbar_cuda.cuh"
#include "xbarmc/physics/dac.hpp"

namespace xbarmc::cuda::detail {

struct SmemLayout {
  int bh, bl, a, c, y, q, red, x, r, col, w, rowk, total;
};

struct LayerParams {
  int rows_p, cols_p, tiles, n_row_tiles, n_col_tiles, max_logical;
  const std::int32_t* row_of;
  const float* adc_step;
  const float* adc_inv;
  const std::int32_t* ct_count;
  const std::int32_t* ct_logical;
  const std::int32_t* ct_start;
  const std::int32_t* ct_cols;
  const double* ct_weight;
  const float* weight_scale;
  int adc_bits, weight_offset;
  bool float_acc;  // the CPU's choice of phase accumulator (see phase_sum_bound there)
  int phases, steps, dac_bits, reads, vec;
  quant::Quantizer xq;
  LayerGeometry geo;
  int group;
  const __half* hi;
  const __half* lo;
  std::int64_t vectors_per_trial, chunks_per_trial, items, items_per_block;
  std::int64_t samples_per_trial;
  std::int64_t in_stride, out_stride;  // floats per sample
  const float* in;
  float* out;
  const float* bias;
  bool relu;
  const float* weights;  // K x M float weights of the group (the error reference)
  double* item_err;      // per item {err, ref}
  SmemLayout smem;
};

__device__ __forceinline__ float gather_input(const LayerParams& p, std::int64_t sample, std::int64_t pos,
                                              std::int32_t k) {
  const LayerGeometry& g = p.geo;
  const float* x = p.in + sample * p.in_stride;
  if (g.conv) {
    const std::int64_t kx = k % g.kw, ky = (k / g.kw) % g.kh, c = k / (g.kw * g.kh);
    const std::int64_t oy = pos / g.OW, ox = pos % g.OW;
    const std::int64_t iy = oy * g.sh - g.pt + ky * g.dh, ix = ox * g.sw - g.pl + kx * g.dw;
    if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) return 0.0f;
    const std::int64_t ch = static_cast<std::int64_t>(p.group) * (g.C / g.groups) + c;
    return x[(ch * g.H + iy) * g.W + ix];
  }
  if (g.transposed_input) return x[(static_cast<std::int64_t>(p.group) * g.K + k) * g.positions + pos];
  return x[pos * (g.K * g.groups) + static_cast<std::int64_t>(p.group) * g.K + k];
}

__device__ __forceinline__ float* output_at(const LayerParams& p, std::int64_t sample, std::int64_t pos,
                                            std::int64_t m_global) {
  const LayerGeometry& g = p.geo;
  float* y = p.out + sample * p.out_stride;
  if (g.conv || g.transposed_input) return y + m_global * g.positions + pos;
  return y + pos * (g.M * g.groups) + m_global;
}

/// The fields of LayerParams both kernels fill the same way (everything but the
/// chunking, the shared-memory layout and the grid split).
LayerParams common_params(const CrossbarLaunch& l, const physics::InputPlan& plan);

/// Per trial: the items' error sums in item order (deterministic), added to errors[2 t].
void add_item_errors(const double* item_err, std::int64_t items_per_trial, int trials, double* errors,
                     cudaStream_t stream);

/// The CPU's phase accumulator choice (kernels/cpu/crossbar.cpp, phase_sum_bound).
bool cpu_uses_float_acc(const HardwareConfig& hw, const physics::InputPlan& plan);

/// Multiprocessors of the current device.
int multiprocessors();

/// The warp kernel (crossbar_warp.cu): whether it models this launch, its work items
/// (the size of its error scratch, in pairs), and the launch.
bool warp_kernel_supports(const CrossbarLaunch& l);
std::int64_t warp_items(const CrossbarLaunch& l);
void warp_layer(const CrossbarLaunch& l, cudaStream_t stream);

}  // namespace xbarmc::cuda::detail
