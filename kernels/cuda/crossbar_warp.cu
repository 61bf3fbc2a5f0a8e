// The warp crossbar kernel's launch (its body: crossbar_warp_kernel.hpp).

#include <cstdint>
#include <string>

#include "crossbar_warp_kernel.hpp"
#include "env_choice.hpp"
#include "xbarmc/cuda/check.cuh"
#include "xbarmc/errors.hpp"

namespace xbarmc::cuda::detail {

namespace {

// Variants: read noise or not; read regions of up to 32 rows (2 mma k-steps, without
// noise: four blocks per SM, or three, XBARMC_CUDA_SHORT), up to 128 rows (8 k-steps, two
// blocks per SM without noise) or up to 256 (16 k-steps: more registers, one block per
// SM); more than 256 rows on the 8-step variants in row chunks (warp_row_chunks: one block
// per SM for its shared memory). With read noise: one block per SM. kBlocks: the blocks
// per SM it is compiled for, which caps its registers (counts: docs/cuda.md).
template <bool kNoise, int kKSteps, int kBlocks>
__global__ void __launch_bounds__(kThreads, kBlocks)
    warp_crossbar_kernel(LayerParams p, WarpSmem w, warp::ReadPlan rp) {
  extern __shared__ __align__(128) unsigned char smem[];
  warp_crossbar_body<kNoise, kKSteps>(p, w, rp, smem);
}

// The batched body (XBARMC_CUDA_BATCH=on) of the short, narrow and tall variants, compiled
// for their blocks per SM; kReadsP: compiled for 16 or 8 read slots per vector (signed or
// unsigned 8-bit inputs, bit-serial), or 0 for any; kHalves: skipping zero phases
// (warp_batch_halves; short tiles, 16 slots).
template <int kKSteps, int kReadsP, bool kHalves = false, int kBlocks = warp_blocks_per_sm(false, kKSteps)>
__global__ void __launch_bounds__(kThreads, kBlocks) warp_batch_kernel(LayerParams p, WarpSmem w, warp::ReadPlan rp) {
  extern __shared__ __align__(128) unsigned char smem[];
  warp_batch_body<kKSteps, kReadsP, kHalves>(p, w, rp, smem);
}

template <int kKSteps, int kReadsP, bool kHalves = false>
void launch_batch_reads(const WarpLaunch& w, cudaStream_t stream) {
  const int smem = w.batch_smem.total;
  XBARMC_CUDA_CHECK(cudaFuncSetAttribute(warp_batch_kernel<kKSteps, kReadsP, kHalves>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  warp_batch_kernel<kKSteps, kReadsP, kHalves>
      <<<w.grid, kThreads, static_cast<std::size_t>(smem), stream>>>(w.p, w.batch_smem, w.rp);
  XBARMC_CUDA_CHECK_LAUNCH();
}

// The instantiation for the launch's read slots per vector.
template <int kKSteps>
void launch_batch(const WarpLaunch& w, cudaStream_t stream) {
  switch (w.rp.reads_p) {
    case 16:
      if constexpr (kKSteps == warp::kShortKSteps) {
        if (warp_batch_halves(w)) {
          launch_batch_reads<kKSteps, 16, true>(w, stream);
          break;
        }
      }
      launch_batch_reads<kKSteps, 16>(w, stream);
      break;
    case 8:
      launch_batch_reads<kKSteps, 8>(w, stream);
      break;
    default:
      launch_batch_reads<kKSteps, 0>(w, stream);
  }
}

template <bool kNoise, int kKSteps, int kBlocks = warp_blocks_per_sm(kNoise, kKSteps)>
void launch_variant(const WarpLaunch& w, cudaStream_t stream) {
  const int smem = w.smem.total;
  XBARMC_CUDA_CHECK(cudaFuncSetAttribute(warp_crossbar_kernel<kNoise, kKSteps, kBlocks>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  warp_crossbar_kernel<kNoise, kKSteps, kBlocks>
      <<<w.grid, kThreads, static_cast<std::size_t>(smem), stream>>>(w.p, w.smem, w.rp);
  XBARMC_CUDA_CHECK_LAUNCH();
}

// XBARMC_CUDA_SHORT=4|3|narrow: what reads tiles of up to 32 rows without read noise: the
// short variant compiled for four blocks per SM (the default: 64 registers, some spilled),
// for three (80 registers), or the narrow variant (two blocks per SM; the variant that
// read conv1 in the device check of 2026-11-27). The same chunks and shared-memory layout
// either way, so the same results; for benchmarks.
int short_variant_blocks() {
  return env_choice("XBARMC_CUDA_SHORT", "a variant for short tiles", {{"4", 4}, {"3", 3}, {"narrow", 0}});
}

// XBARMC_CUDA_BATCH=off|on: whether the short, narrow and tall variants run their batched body
// (warp_batch_body) where it applies (warp_batch_applies). Off by default until a device
// check has timed it; the same chunks, so the same results.
bool batched_body() { return env_choice("XBARMC_CUDA_BATCH", "the batched body", {{"off", 0}, {"on", 1}}) != 0; }

// XBARMC_CUDA_SKIP_ZERO=on|off: whether the batched body skips a signed vector's phases
// whose DAC codes are all 0 (LayerParams::skip_zero_phases; on by default, for
// benchmarks); the same results.
bool skip_zero_phases() {
  return env_choice("XBARMC_CUDA_SKIP_ZERO", "skipping zero phases", {{"on", 1}, {"off", 0}}) != 0;
}

// XBARMC_CUDA_SHIFT_ADD=registers|staged: where the warp kernel adds a vector's reads
// when their sums are exact (warp::exact_shift_add): across lanes in registers (the
// default), or staged through shared memory as in every other case (for benchmarks).
bool shift_add_in_registers() {
  return env_choice("XBARMC_CUDA_SHIFT_ADD", "a shift-add", {{"registers", 1}, {"staged", 0}}) != 0;
}

physics::InputPlan launch_plan(const CrossbarLaunch& l) {
  return physics::input_plan(l.m->hw.input_bits, l.m->hw.dac_bits, l.xq.is_signed());
}

}  // namespace

std::string warp_kernel_refusal(const CrossbarLaunch& l) {
  const physics::InputPlan plan = launch_plan(l);
  const bool noise = l.m->hw.read_noise > 0;
  if (!warp::supports_reads(plan.phases, plan.steps))
    return fmt::format("{} phases of {} reads per input vector (input_bits, dac_bits)", plan.phases, plan.steps);
  if (noise && plan.dac_bits > kNoiseMaxDacBits) {  // squared codes in f16 range
    return fmt::format("read noise takes DAC codes of at most {} bits (dac_bits; here {})", kNoiseMaxDacBits,
                       plan.dac_bits);
  }
  if (l.samples_per_trial * l.geo.positions >= (std::int64_t{1} << 31))
    return "2^31 or more input vectors per trial in one layer (lower images)";
  if (l.m->win_cols > 128) return "column windows wider than 128 columns";
  const warp::ReadPlan rp = warp::read_plan(plan.phases, plan.steps);
  if (warp_chunking(l.m->rows_p, l.m->win_cols, l.m->max_logical, rp, l.samples_per_trial * l.geo.positions, noise).V ==
      0) {
    return fmt::format("its shared memory does not hold a tile read over {} x {} cells{}{} (lower rows{})", l.m->rows_p,
                       l.m->win_cols, rp.groups > 1 ? fmt::format(" in {} read groups", rp.groups) : "",
                       noise ? " with read noise" : "",
                       rp.groups > 1 ? ", or input_bits to 9 or fewer for signed inputs" : "");
  }
  return "";
}

bool warp_kernel_supports(const CrossbarLaunch& l) { return warp_kernel_refusal(l).empty(); }

std::int64_t warp_items(const CrossbarLaunch& l) {
  const physics::InputPlan plan = launch_plan(l);
  const std::int64_t vectors = l.samples_per_trial * l.geo.positions;
  const int V = warp_chunking(l.m->rows_p, l.m->win_cols, l.m->max_logical, warp::read_plan(plan.phases, plan.steps),
                              run_vectors_per_trial(l), l.m->hw.read_noise > 0)
                    .V;
  return (vectors + V - 1) / V * l.m->n_windows * l.trials;
}

bool warp_batch_body_applies(const CrossbarLaunch& l) {
  return warp_kernel_supports(l) &&
         warp_batch_applies(prepare_warp_launch(common_params(*l.m, l, launch_plan(l)), l.trials, multiprocessors()));
}

namespace {

// The warp launch of `l` with the XBARMC_CUDA_* choices that set its parameters: the
// shift-add (XBARMC_CUDA_SHIFT_ADD) and skipping zero phases (XBARMC_CUDA_SKIP_ZERO).
WarpLaunch configured_launch(const CrossbarLaunch& l) {
  WarpLaunch w = prepare_warp_launch(common_params(*l.m, l, launch_plan(l)), l.trials, multiprocessors());
  w.p.exact_shift_add = w.p.exact_shift_add && shift_add_in_registers();
  w.p.skip_zero_phases = skip_zero_phases();
  return w;
}

}  // namespace

bool warp_batch_skips_zero_phases(const CrossbarLaunch& l) {
  if (!warp_kernel_supports(l)) return false;
  const WarpLaunch w = configured_launch(l);
  return warp_batch_applies(w) && warp_batch_halves(w);
}

void warp_layer(const CrossbarLaunch& l, cudaStream_t stream) {
  const WarpLaunch w = configured_launch(l);
  const bool noise = w.p.read_noise > 0.0f;
  const int k_steps = warp_k_steps(w.p.rows_p, noise);
  const int short_blocks = k_steps == warp::kShortKSteps && !noise ? short_variant_blocks() : 4;
  if (batched_body() && warp_batch_applies(w) && (k_steps != warp::kShortKSteps || short_blocks == 4)) {
    if (k_steps == warp::kShortKSteps) {
      launch_batch<warp::kShortKSteps>(w, stream);
    } else if (k_steps == warp::kMaxKSteps) {
      launch_batch<warp::kMaxKSteps>(w, stream);
    } else {
      launch_batch<warp::kMaxKStepsTall>(w, stream);
    }
  } else if (noise) {
    k_steps == warp::kMaxKStepsTall ? launch_variant<true, warp::kMaxKStepsTall>(w, stream)
                                    : launch_variant<true, warp::kMaxKSteps>(w, stream);
  } else if (k_steps == warp::kShortKSteps) {
    switch (short_blocks) {
      case 4:
        launch_variant<false, warp::kShortKSteps, 4>(w, stream);
        break;
      case 3:
        launch_variant<false, warp::kShortKSteps, 3>(w, stream);
        break;
      default:
        launch_variant<false, warp::kMaxKSteps>(w, stream);
    }
  } else {
    k_steps == warp::kMaxKStepsTall ? launch_variant<false, warp::kMaxKStepsTall>(w, stream)
                                    : launch_variant<false, warp::kMaxKSteps>(w, stream);
  }
  add_item_errors(w.p.item_err, w.p.chunks_per_trial, w.p.n_col_tiles, l.trials, l.errors, stream);
}

}  // namespace xbarmc::cuda::detail
