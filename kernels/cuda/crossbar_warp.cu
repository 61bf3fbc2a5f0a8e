// The warp crossbar kernel's launch (its body: crossbar_warp_kernel.hpp).

#include <cstdint>

#include "crossbar_warp_kernel.hpp"
#include "xbarmc/cuda/check.cuh"

namespace xbarmc::cuda::detail {

namespace {

template <bool kNoise>
__global__ void __launch_bounds__(kThreads, kNoise ? 1 : 2)
    warp_crossbar_kernel(LayerParams p, WarpSmem w, warp::ReadPlan rp) {
  extern __shared__ __align__(128) unsigned char smem[];
  warp_crossbar_body<kNoise>(p, w, rp, smem);
}

physics::InputPlan launch_plan(const CrossbarLaunch& l) {
  return physics::input_plan(l.m->hw.input_bits, l.m->hw.dac_bits, l.xq.is_signed());
}

}  // namespace

bool warp_kernel_supports(const CrossbarLaunch& l) {
  const physics::InputPlan plan = launch_plan(l);
  const int reads = plan.phases * plan.steps;
  if (!warp::supports_reads(reads)) return false;
  if (l.m->hw.read_noise > 0 && plan.dac_bits != 1) return false;  // the variance product needs d^2 = d
  if (l.samples_per_trial * l.geo.positions >= (std::int64_t{1} << 31)) return false;
  if (l.m->rows_p > 16 * warp::kMaxKSteps || l.m->cols_p > 128) return false;
  return warp_chunking(l.m->rows_p, l.m->cols_p, l.m->max_logical, warp::read_plan(reads),
                       l.samples_per_trial * l.geo.positions, l.m->hw.read_noise > 0)
             .V > 0;
}

std::int64_t warp_items(const CrossbarLaunch& l) {
  const physics::InputPlan plan = launch_plan(l);
  const std::int64_t vectors = l.samples_per_trial * l.geo.positions;
  const int V = warp_chunking(l.m->rows_p, l.m->cols_p, l.m->max_logical, warp::read_plan(plan.phases * plan.steps),
                              vectors, l.m->hw.read_noise > 0)
                    .V;
  return (vectors + V - 1) / V * l.m->n_col_tiles * l.trials;
}

void warp_layer(const CrossbarLaunch& l, cudaStream_t stream) {
  const WarpLaunch w = prepare_warp_launch(common_params(*l.m, l, launch_plan(l)), l.trials, multiprocessors());
  const int smem = w.smem.total;
  if (w.p.read_noise > 0.0f) {
    XBARMC_CUDA_CHECK(
        cudaFuncSetAttribute(warp_crossbar_kernel<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    warp_crossbar_kernel<true><<<w.grid, kThreads, static_cast<std::size_t>(smem), stream>>>(w.p, w.smem, w.rp);
  } else {
    XBARMC_CUDA_CHECK(
        cudaFuncSetAttribute(warp_crossbar_kernel<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    warp_crossbar_kernel<false><<<w.grid, kThreads, static_cast<std::size_t>(smem), stream>>>(w.p, w.smem, w.rp);
  }
  XBARMC_CUDA_CHECK_LAUNCH();
  add_item_errors(w.p.item_err, w.p.chunks_per_trial * w.p.n_col_tiles, l.trials, l.errors, stream);
}

}  // namespace xbarmc::cuda::detail
