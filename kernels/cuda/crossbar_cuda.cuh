#pragma once
// Device-side crossbar layers: the tile data of a mapped matrix on the GPU, chip
// instances drawn in a kernel with the same per-cell functions as the CPU
// (physics/cell.hpp), and the fused crossbar product: im2col gather, input
// quantization, DAC reads as a tensor-core product of 0/1 (or DAC-code) planes with
// the effective levels (fp16 hi + lo parts, fp32 accumulation, ~2^-22 relative),
// ADC, shift-add over steps, phases, slices and signs, row tiles, scaling, bias and
// the fused ReLU, in one kernel per layer and batch.

#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "xbarmc/cuda/device_buffer.cuh"
#include "xbarmc/hardware.hpp"
#include "xbarmc/mapping/mapped_matrix.hpp"
#include "xbarmc/physics/cell.hpp"
#include "xbarmc/physics/dac.hpp"
#include "xbarmc/quant.hpp"

namespace xbarmc::cuda {

/// How a weight layer's input vectors are gathered from its input activation and
/// where its outputs go. Vectors are (sample, position); K and M are per group.
struct LayerGeometry {
  bool conv = false;
  std::int64_t K = 0, M = 0;
  int groups = 1;
  // conv: input C x H x W per sample, output (groups * M) x OH x OW
  std::int64_t C = 0, H = 0, W = 0, OH = 1, OW = 1;
  std::int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0;
  // dense: input sample = positions x (groups*K) row-major, output positions x (groups*M)
  std::int64_t positions = 1;     ///< vectors per sample (OH*OW for conv; tokens for a 3-D MatMul)
  bool transposed_input = false;  ///< constant-first MatMul: vector p of a sample is column p of X (K x positions)
};

/// A mapped matrix (one weight layer group of one arm) on the device.
struct DeviceMatrix {
  HardwareConfig hw;
  std::int64_t K = 0, M = 0;
  int tiles = 0, n_row_tiles = 0, n_col_tiles = 0;
  int rows_p = 0, cols_p = 0;  ///< used extents padded to 16 (the part of a tile that is read)
  /// Column windows: the kernels read a tile's columns in windows of at most 128 (the
  /// logical columns of a window never leave it); with cols_p <= 128 one window per column
  /// tile, the whole of it. Window w reads columns [win_col0[w], + win_cols) of column tile
  /// win_tile[w]; the ct_* tables are per window.
  int n_windows = 0, win_cols = 0;
  int max_logical = 0;  ///< most logical columns in one window
  physics::CellModel cell;
  int weight_offset = 0;
  DeviceBuffer<std::int32_t> row_of;      ///< [tiles][rows_p] logical input or -1
  DeviceBuffer<std::int32_t> tile_rows;   ///< [tiles] rows up to the last holding an input, rounded up to 16
  DeviceBuffer<float> adc_step;           ///< [tiles][cols_p]
  DeviceBuffer<float> adc_inv;            ///< [tiles][cols_p]
  DeviceBuffer<std::int32_t> win_tile;    ///< [n_windows] column tile of the window
  DeviceBuffer<std::int32_t> win_col0;    ///< [n_windows] first column (a multiple of 16)
  DeviceBuffer<std::int32_t> ct_count;    ///< [n_windows] logical columns of the window
  DeviceBuffer<std::int32_t> ct_logical;  ///< [n_windows][max_logical] global logical column
  DeviceBuffer<std::int32_t> ct_start;    ///< [n_windows][max_logical + 1] CSR into ct_cols
  DeviceBuffer<std::int32_t> ct_cols;     ///< [n_windows][win_cols] columns from win_col0, ascending per logical
  DeviceBuffer<double> ct_weight;         ///< same layout: sign * 2^(slice * bpc)
  DeviceBuffer<std::uint8_t> level;       ///< [tiles][rows][cols]
  DeviceBuffer<std::uint8_t> verified;    ///< [tiles][rows][cols] or empty
  DeviceBuffer<float> weight_scale;       ///< [M]
  std::int64_t cells_per_chip() const { return static_cast<std::int64_t>(tiles) * hw.rows * hw.cols; }
  std::int64_t leff_per_chip() const { return static_cast<std::int64_t>(tiles) * rows_p * cols_p; }
};

/// Uploads a mapped matrix. Throws Unsupported for what the GPU path does not model
/// (tiles of one column tile holding different logical columns).
DeviceMatrix upload_matrix(const MappedMatrix& m);

/// Chip instances of `trials` consecutive trials [trial0, ...): effective levels as fp16
/// hi/lo parts, [trial][tile][rows_p][cols_p]; stuck counts added to stuck[2 * t] (off)
/// and stuck[2 * t + 1] (on). IR drop none, static and iterative (the CPU's PCG per
/// tile instance in kernels, ir_pcg_kernel.hpp; a system not converged within
/// ir_max_iter is an Error naming layer, tile and trial, as on the CPU); exact is
/// Unsupported here (instantiate_chips_on_host).
void instantiate_chips(const DeviceMatrix& m, std::uint64_t seed, std::uint32_t trial0, int trials,
                       std::uint32_t layer_id, __half* leff_hi, __half* leff_lo, unsigned long long* stuck,
                       cudaStream_t stream);

/// The same chip instances drawn by the CPU code on the host cores (kernels/cpu/chip.cpp:
/// the cells and every IR-drop mode's transfer conductances, exactly as the CPU backend)
/// and uploaded: the path for ir_drop exact, and the reference the GPU tests compare
/// instantiate_chips with. `mm` is the mapped matrix `m` was uploaded from.
void instantiate_chips_on_host(const MappedMatrix& mm, const DeviceMatrix& m, std::uint64_t seed, std::uint32_t trial0,
                               int trials, std::uint32_t layer_id, __half* leff_hi, __half* leff_lo,
                               unsigned long long* stuck, cudaStream_t stream);

/// The two implementations of a crossbar layer. `block`: each block runs a chunk of
/// vectors through its phases (gather, tensor-core product into shared memory, ADC and
/// shift-add, float reference) with block barriers in between; the validated default.
/// `warp`: each warp runs its own vectors through the whole pipeline with the ADC and
/// shift-add applied to the mma accumulators (kernels/cuda/warp_layout.hpp), barriers
/// only between row tiles; more than 16 reads per vector run one pass per phase.
enum class CrossbarKernel { automatic, block, warp };
const char* to_string(CrossbarKernel k);

/// One crossbar layer for a batch of trials x samples: reads `in` (trials * samples
/// per trial, each the layer's input), writes `out` (bias added, ReLU when asked).
struct CrossbarLaunch {
  const DeviceMatrix* m = nullptr;
  LayerGeometry geo;
  int group = 0;
  quant::Quantizer xq;
  const __half* leff_hi = nullptr;  ///< this matrix's chips for the batch's trials
  const __half* leff_lo = nullptr;
  int trials = 1;
  std::int64_t samples_per_trial = 1;
  /// Samples per trial of the whole run, over all image passes (0: samples_per_trial).
  /// The launch's items (chunks of vectors) follow it, not the pass, and so do the sums
  /// of its layer errors: see kPassImages.
  std::int64_t run_samples_per_trial = 0;
  const float* in = nullptr;
  float* out = nullptr;
  /// Every trial's input is the same (the network's first crossbar layer:
  /// model::same_per_trial_values): crossbar_reference computes the float reference for
  /// the first trial and copies it to the others.
  bool same_input_per_trial = false;
  const float* bias = nullptr;  ///< groups * M, or null
  bool relu = false;
  /// The layer error against the exact float product: `weights` (K x M, the group's float
  /// weights) and per trial {sum (y - y_float)^2, sum y_float^2} added to errors[2 t].
  const float* weights = nullptr;
  double* errors = nullptr;
  double* scratch = nullptr;  ///< 2 * crossbar_items(*this) doubles
  /// Where read noise is drawn (hw.read_noise > 0): the study's seed, the first trial of
  /// the batch, the matrix id, and the in-trial index of the launch's first vector (the
  /// CPU backend's vector_index_base: first image x vectors per image).
  std::uint64_t seed = 0;
  std::uint32_t trial0 = 0, layer_id = 0;
  std::int64_t vector_base = 0;
  int threads = 0;  ///< block kernel's block size 256 or 512; 0 = $XBARMC_CUDA_THREADS or the default
  /// automatic = $XBARMC_CUDA_KERNEL (block or warp) or, when unset, warp
  CrossbarKernel kernel = CrossbarKernel::automatic;
};
/// The kernel a launch runs: `kernel`, else $XBARMC_CUDA_KERNEL, else warp; `warp`
/// falls back to `block` where it does not model the launch (2^31 input vectors or more
/// per trial). Read noise runs on the warp kernel only (DAC codes of up to 8 bits): such launches
/// take it whatever was asked, or are refused (Unsupported) where it cannot run them.
/// Throws InvalidConfig for an unknown $XBARMC_CUDA_KERNEL.
CrossbarKernel crossbar_kernel(const CrossbarLaunch& l);
/// The block size a launch uses.
int crossbar_block_threads(const CrossbarLaunch& l);
/// Images per pass are a multiple of this when a run's images take several passes
/// (images_per_pass): every kernel's chunk of vectors (a power of two of at most
/// 256) then divides each pass's first vector, so the passes cut the run's vectors into
/// the same chunks as one pass would, and the layer errors, summed chunk by chunk
/// (detail::fold_item_errors), come out the same bit for bit.
constexpr std::int64_t kPassImages = 256;
/// Images per pass of a run of `images` images when `fit` fit in memory and `cap` (> 0)
/// caps them ($XBARMC_CUDA_IMAGES_PER_PASS): all of them in one pass when they fit and the
/// cap allows; else a multiple of kPassImages, at least kPassImages (the cap rounded down
/// to one, or up to kPassImages).
inline std::int64_t images_per_pass(std::int64_t images, std::int64_t fit, std::int64_t cap) {
  const std::int64_t b = cap > 0 ? std::min(fit, cap) : fit;
  if (b >= images) return images;
  return std::min(images, std::max(kPassImages, b / kPassImages * kPassImages));
}
/// Work items of a launch (the size of its error scratch, in pairs).
std::int64_t crossbar_items(const CrossbarLaunch& l);
/// A crossbar layer: crossbar_reference, then crossbar_products.
void crossbar_layer(const CrossbarLaunch& l, cudaStream_t stream);
/// The float reference of the layer's error sums (the exact float product of its inputs
/// and float weights), written into l.out, where crossbar_products reads it and writes
/// the outputs over it. The network launches the two separately to time them apart. With
/// l.same_input_per_trial, computed for the first trial and copied to the others.
void crossbar_reference(const CrossbarLaunch& l, cudaStream_t stream);
/// The crossbar kernel (block or warp): outputs into l.out, error sums onto l.errors;
/// needs crossbar_reference's values in l.out (launched before it on the same stream).
void crossbar_products(const CrossbarLaunch& l, cudaStream_t stream);

}  // namespace xbarmc::cuda
