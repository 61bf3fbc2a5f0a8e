// The CUDA crossbar: chip instances and the fused crossbar layer (see crossbar_cuda.cuh).
// The arithmetic after the analog product mirrors kernels/cpu/crossbar.cpp operation
// for operation (same ADC functions, the same accumulation order in double), so a
// layer's outputs equal the CPU's bit for bit whenever the ADC codes agree; codes can
// differ only where a column signal lies within float rounding of a code boundary.

#include <cuda_fp16.h>
#include <mma.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "crossbar_common.cuh"
#include "crossbar_cuda.cuh"
#include "env_choice.hpp"
#include "xbarmc/cuda/check.cuh"
#include "xbarmc/errors.hpp"
#include "xbarmc/physics/adc.hpp"
#include "xbarmc/physics/ir_drop.hpp"

namespace xbarmc::cuda {

using detail::LayerParams;
using detail::multiprocessors;
using detail::SmemLayout;

namespace {

constexpr int kMaxThreads = 512;
constexpr int kDefaultThreads = 512;  // block size unless XBARMC_CUDA_THREADS or CrossbarLaunch::threads says otherwise
                                      // the largest block size a variant uses (sizes the reduction buffer)
constexpr int kMaxVec = 64;           // vectors per chunk at most (bounds the per-vector buffers)
constexpr int kSmemBudget = 220 * 1024;  // dynamic shared memory per block (Hopper allows 227 KB)
constexpr int kPadH = 8;                 // fp16 elements of padding per shared row (16 bytes; WMMA ldm % 8 == 0)
constexpr int kPadF = 4;                 // float padding per shared row (WMMA ldm % 4 == 0)

// ---------------------------------------------------------------------------
// Chip instances
// ---------------------------------------------------------------------------

struct InstantiateParams {
  physics::CellModel cell;
  physics::Wires wires;
  bool static_ir;
  int rows, cols, tiles, rows_p, cols_p;
  const std::uint8_t* level;
  const std::uint8_t* verified;
  std::uint64_t seed;
  std::uint32_t trial0, layer;
  // Instances [first, first + count) of (trial - trial0) * tiles + tile.
  std::int64_t first, count;
  __half* hi;
  __half* lo;
  double* g_out;  // when set: the drawn conductances, [count][rows][cols], and no levels
  unsigned long long* stuck;
};

__global__ void instantiate_kernel(InstantiateParams p) {
  const std::int64_t per_tile = static_cast<std::int64_t>(p.rows) * p.cols;
  const std::int64_t total = per_tile * p.count;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t inst = p.first + i / per_tile;
    const int t = static_cast<int>(inst / p.tiles), tile = static_cast<int>(inst % p.tiles);
    const auto e = static_cast<std::uint32_t>(i % per_tile);
    const int r = static_cast<int>(e / p.cols), c = static_cast<int>(e % p.cols);
    const std::int64_t li = tile * per_tile + e;
    physics::CellFault f;
    double g = physics::sample_cell(p.cell, p.seed, p.trial0 + t, p.layer, static_cast<std::uint32_t>(tile), e,
                                    p.level[li], p.verified != nullptr && p.verified[li] != 0, &f);
    if (f != physics::CellFault::none) atomicAdd(&p.stuck[2 * t + (f == physics::CellFault::stuck_on)], 1ull);
    if (p.g_out != nullptr) {
      p.g_out[i] = g;
      continue;
    }
    if (r >= p.rows_p || c >= p.cols_p) continue;
    if (p.static_ir) g = physics::static_transfer(g, physics::series_resistance(p.wires, p.rows, r, c));
    detail::store_level(p.cell, g, p.hi, p.lo,
                        inst * p.rows_p * p.cols_p + static_cast<std::int64_t>(r) * p.cols_p + c);
  }
}

// ---------------------------------------------------------------------------
// The fused crossbar layer
// ---------------------------------------------------------------------------

// kThreads = 256: one warp per 16-row block of A, all column fragments; 512: two warps
// per row block, each half of the column fragments (more threads for the other phases).
template <int kThreads>
__global__ void __launch_bounds__(kThreads, 1) block_crossbar_kernel(LayerParams p) {
  using namespace nvcuda;
  constexpr int kWarps = kThreads / 32;
  constexpr int kSplit = kWarps >= 16 ? 2 : 1;  // warps sharing one row block
  constexpr int kFrags = 8 / kSplit;            // column fragments per warp
  extern __shared__ __align__(128) unsigned char smem[];
  const SmemLayout& L = p.smem;
  const int ldb = p.cols_p + kPadH, lda = p.rows_p + kPadH, ldc = p.cols_p + kPadF;
  __half* Bh = reinterpret_cast<__half*>(smem + L.bh);                  // [rows_p][ldb] effective levels, hi part
  __half* Bl = reinterpret_cast<__half*>(smem + L.bl);                  // lo part
  __half* A = reinterpret_cast<__half*>(smem + L.a);                    // [arows][lda] DAC codes of the reads
  float* C = reinterpret_cast<float*>(smem + L.c);                      // [arows][ldc] column signals
  double* Y = reinterpret_cast<double*>(smem + L.y);                    // [vec][max_logical] outputs (integer domain)
  long long* Q = reinterpret_cast<long long*>(smem + L.q);              // [vec] sum of input codes (offset mode)
  double* red = reinterpret_cast<double*>(smem + L.red);                // [2][warps] block reduction
  double* COL = reinterpret_cast<double*>(smem + L.col);                // [vec][cols_p] digitized physical columns
  std::int32_t* rowk = reinterpret_cast<std::int32_t*>(smem + L.rowk);  // [rows_p] logical input of each row

  const int tid = threadIdx.x, warp = tid / 32;
  const std::int64_t first = blockIdx.x * p.items_per_block;
  const std::int64_t last = p.items < first + p.items_per_block ? p.items : first + p.items_per_block;
  std::int64_t loaded_b = -1;  // (trial, tile) whose B is in shared memory

  for (std::int64_t item = first; item < last; ++item) {
    const detail::Item it = detail::item_of(p, item);
    const int ct = it.ct, t = it.t, nv = it.nv, mt = it.mt;
    const std::int64_t v0 = it.v0;
    const int rows_used = nv * p.reads;            // A rows holding reads
    const int row_blocks = (rows_used + 15) / 16;  // A row blocks the product touches
    for (int i = tid; i < p.vec * p.max_logical; i += kThreads) Y[i] = 0.0;
    for (int i = tid; i < p.vec; i += kThreads) Q[i] = 0;

    for (int rt = 0; rt < p.n_row_tiles; ++rt) {
      const int tile = rt * p.n_col_tiles + ct;
      __syncthreads();  // the previous round's readers of every buffer are done
      const std::int64_t key = static_cast<std::int64_t>(t) * p.tiles + tile;
      if (key != loaded_b) {  // B: the tile's effective levels for trial t, 16-byte loads
        const uint4* gh = reinterpret_cast<const uint4*>(p.hi + key * p.rows_p * p.cols_p);
        const uint4* gl = reinterpret_cast<const uint4*>(p.lo + key * p.rows_p * p.cols_p);
        for (int i = tid; i < p.rows_p * p.cols_p / 8; i += kThreads) {
          const int r = (i * 8) / p.cols_p, c = (i * 8) % p.cols_p;
          *reinterpret_cast<uint4*>(Bh + r * ldb + c) = gh[i];
          *reinterpret_cast<uint4*>(Bl + r * ldb + c) = gl[i];
        }
        loaded_b = key;
      }
      for (int r = tid; r < p.rows_p; r += kThreads) rowk[r] = p.row_of[static_cast<std::int64_t>(tile) * p.rows_p + r];
      for (int i = tid; i < (row_blocks * 16 - rows_used) * p.rows_p; i += kThreads)
        A[(rows_used + i / p.rows_p) * lda + i % p.rows_p] = __float2half_rn(0.0f);
      __syncthreads();
      // A: per vector and row the input (8 independent gathers in flight per
      // thread), its code, split into the reads' DAC codes.
      const int cells = nv * p.rows_p;
      for (int base = 0; base < cells; base += 8 * kThreads) {
        float xs[8];
#pragma unroll
        for (int u = 0; u < 8; ++u) {
          const int i = base + u * kThreads + tid;
          xs[u] = 0.0f;
          if (i < cells) {
            const int v = i / p.rows_p, k = rowk[i % p.rows_p];
            if (k >= 0) {
              const std::int64_t vg = v0 + v;
              const std::int64_t sample = static_cast<std::int64_t>(t) * p.samples_per_trial + vg / p.geo.positions;
              xs[u] = gather_input(p, sample, vg % p.geo.positions, k);
            }
          }
        }
#pragma unroll
        for (int u = 0; u < 8; ++u) {
          const int i = base + u * kThreads + tid;
          if (i >= cells) continue;
          const int v = i / p.rows_p, r = i % p.rows_p;
          const int q = rowk[r] >= 0 ? p.xq.quantize(xs[u]) : 0;
          if (p.weight_offset != 0 && q != 0)
            atomicAdd(reinterpret_cast<unsigned long long*>(&Q[v]),
                      static_cast<unsigned long long>(static_cast<long long>(q)));
          for (int ph = 0; ph < p.phases; ++ph) {
            const std::uint32_t mag = physics::phase_magnitude(q, ph);
            for (int s = 0; s < p.steps; ++s) {
              const std::uint32_t d = physics::dac_code(mag, s, p.dac_bits);
              A[(v * p.reads + ph * p.steps + s) * lda + r] = __float2half_rn(static_cast<float>(d));
            }
          }
        }
      }
      __syncthreads();
      // C = A x (Bh + Bl) on tensor cores: warp w computes row blocks w, w + 8, ...
      const int ncf = p.cols_p / 16;
      for (int rb = warp / kSplit; rb < row_blocks; rb += kWarps / kSplit) {
        const int n0 = (warp % kSplit) * kFrags;
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[kFrags];
#pragma unroll
        for (int n = 0; n < kFrags; ++n) wmma::fill_fragment(acc[n], 0.0f);
        for (int kk = 0; kk < p.rows_p; kk += 16) {
          wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
          wmma::load_matrix_sync(fa, A + rb * 16 * lda + kk, lda);
#pragma unroll
          for (int n = 0; n < kFrags; ++n) {
            if (n0 + n < ncf) {
              wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> fb;
              wmma::load_matrix_sync(fb, Bh + kk * ldb + (n0 + n) * 16, ldb);
              wmma::mma_sync(acc[n], fa, fb, acc[n]);
              wmma::load_matrix_sync(fb, Bl + kk * ldb + (n0 + n) * 16, ldb);
              wmma::mma_sync(acc[n], fa, fb, acc[n]);
            }
          }
        }
#pragma unroll
        for (int n = 0; n < kFrags; ++n)
          if (n0 + n < ncf)
            wmma::store_matrix_sync(C + rb * 16 * ldc + (n0 + n) * 16, acc[n], ldc, wmma::mem_row_major);
      }
      __syncthreads();
      // ADC and shift-add over steps and phases: one thread per (vector, used physical column).
      const detail::WindowColumns wc = detail::window_columns(p, ct);
      const std::int32_t *const start = wc.start, *const cols = wc.cols;
      const double* const wcol = wc.wcol;
      const float* step_of = p.adc_step + static_cast<std::int64_t>(tile) * p.cols_p;
      const float* inv_of = p.adc_inv + static_cast<std::int64_t>(tile) * p.cols_p;
      const int used = start[mt];
      for (int i = tid; i < nv * used; i += kThreads) {
        const int v = i / used, e = i % used;
        const int c = cols[e];
        const float step = step_of[c], inv = inv_of[c];
        const float* sig = C + v * p.reads * ldc + c;  // read r of the vector at sig[r * ldc]
        const auto out = [&](int read) { return physics::adc_output(sig[read * ldc], inv, p.adc_bits); };
        COL[v * p.cols_p + e] = physics::shift_add_column(out, p.phases, p.steps, p.dac_bits, p.float_acc, step);
      }
      __syncthreads();  // COL complete
      // Per (vector, logical column): its physical columns in ascending order into the
      // output, exactly as the CPU accumulates them.
      for (int i = tid; i < nv * mt; i += kThreads) {
        const int v = i / mt, j = i % mt;
        double y = Y[v * p.max_logical + j];
        for (int e = start[j]; e < start[j + 1]; ++e) y += wcol[e] * COL[v * p.cols_p + e];
        Y[v * p.max_logical + j] = y;
      }
    }
    __syncthreads();
    detail::finish_item<kThreads>(p, it, item, Y, Q, red);
  }
}

// The float reference into the outputs (detail::reference_body); kMinBlocks: the blocks
// per SM it is compiled for (4: 64 registers, spilling; 0: ptxas's choice, 128 registers).
template <int kMinBlocks>
__global__ void __launch_bounds__(detail::kRefThreads, kMinBlocks)
    reference_kernel(LayerParams p, int trials, std::int64_t grid) {
  extern __shared__ __align__(16) unsigned char ref_smem[];
  detail::reference_body(p, trials, grid, ref_smem);
}

// The first trial's float reference to the other trials (detail::copy_first_trial_body).
__global__ void __launch_bounds__(detail::kRefThreads)
    copy_first_trial_kernel(LayerParams p, int trials, std::int64_t grid) {
  detail::copy_first_trial_body(p, trials, grid);
}

// Per trial: the items' error sums onto errors[2 t] in the order of detail::fold_item_errors.
__global__ void item_error_kernel(const double* item_err, std::int64_t chunks_per_trial, int n_col_tiles, int trials,
                                  double* errors) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= trials) return;
  detail::fold_item_errors(item_err, chunks_per_trial, n_col_tiles, t, errors);
}

// Shared-memory carve-up of one launch (byte offsets, each 128-byte aligned), computed
// once on the host and read by the kernel, so the two cannot disagree.
SmemLayout make_layout(int rows_p, int cols_p, int max_logical, int arows, int vec) {
  SmemLayout s{};
  int o = 0;
  auto take = [&](std::size_t bytes) {
    const int at = o;
    o += static_cast<int>((bytes + 127) / 128 * 128);
    return at;
  };
  s.bh = take(sizeof(__half) * rows_p * (cols_p + kPadH));
  s.bl = take(sizeof(__half) * rows_p * (cols_p + kPadH));
  s.a = take(sizeof(__half) * arows * (rows_p + kPadH));
  s.c = take(sizeof(float) * arows * (cols_p + kPadF));
  s.y = take(sizeof(double) * vec * max_logical);
  s.q = take(sizeof(long long) * vec);
  s.red = take(sizeof(double) * 2 * (kMaxThreads / 32));
  s.col = take(sizeof(double) * vec * cols_p);
  s.rowk = take(sizeof(std::int32_t) * rows_p);
  s.total = o;
  return s;
}

// Reads per chunk: the most A rows (a multiple of 128, up to 512) whose buffers fit the
// shared-memory budget; small tiles thus take more vectors per round.
struct Chunking {
  int arows, vec;
  SmemLayout smem;
};
// The largest power of two <= x (x >= 1): chunk sizes divide kPassImages x any vectors
// per image, so image passes cut the same chunks as one pass.
int floor_pow2(int x) {
  int p = 1;
  while (p * 2 <= x) p *= 2;
  return p;
}

Chunking choose_chunking(int rows_p, int cols_p, int max_logical, int reads) {
  static_assert((kMaxVec & (kMaxVec - 1)) == 0 && kPassImages % kMaxVec == 0, "chunks must divide a pass");
  for (int arows = 512; arows >= 128; arows -= 128) {
    const int vec = floor_pow2(std::max(1, std::min(kMaxVec, arows / reads)));
    const SmemLayout s = make_layout(rows_p, cols_p, max_logical, arows, vec);
    if (s.total <= kSmemBudget) return Chunking{arows, vec, s};
  }
  // Wide column tiles: fewer vectors per round.
  int vec = floor_pow2(std::max(1, std::min(kMaxVec, 128 / reads)));
  SmemLayout s = make_layout(rows_p, cols_p, max_logical, 128, vec);
  while (s.total > kSmemBudget && vec > 1) s = make_layout(rows_p, cols_p, max_logical, 128, vec /= 2);
  return Chunking{128, vec, s};
}

}  // namespace

namespace {
// XBARMC_CUDA_REF=4|2: the float reference's kernel compiled for 4 blocks per SM (64
// registers, some spilled; the default) or for ptxas's choice (128 registers: 2 blocks per
// SM). On an H200 (2026-11-27) 4 was 9% faster on the benchmark's dense layer and 2% on
// the LeNet-5 study.
int reference_blocks_per_sm() {
  return detail::env_choice("XBARMC_CUDA_REF", "a variant of the float reference's kernel", {{"4", 4}, {"2", 2}});
}
}  // namespace

void detail::reference_layer(const LayerParams& p, int trials, cudaStream_t stream) {
  if (p.vectors_per_trial >= (std::int64_t{1} << 31))
    throw Unsupported("2^31 or more input vectors per trial in one layer (lower images)");
  const std::size_t smem = reference_smem_bytes(p);
  if (smem > 48 * 1024)  // rows_p <= 512: at most 8 KB + 32 KB + 4 KB + 256 B
    throw Error(fmt::format("internal: {} bytes of shared memory for the float reference", smem));
  const std::int64_t blocks = reference_blocks(p, trials);
  if (blocks == 0) return;
  if (reference_column_blocks(p, trials) >= (1ll << 31))
    throw Unsupported("2^31 or more (trial, column tile) pairs in one launch (lower trials)");
  const std::int64_t grid = std::min<std::int64_t>(blocks, 32ll * multiprocessors());
  if (reference_blocks_per_sm() == 4)
    reference_kernel<4><<<static_cast<int>(grid), kRefThreads, smem, stream>>>(p, trials, grid);
  else
    reference_kernel<0><<<static_cast<int>(grid), kRefThreads, smem, stream>>>(p, trials, grid);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void detail::copy_first_trial(const LayerParams& p, int trials, cudaStream_t stream) {
  const std::int64_t rows = static_cast<std::int64_t>(trials - 1) * p.samples_per_trial;
  if (rows <= 0) return;
  const std::int64_t grid = std::min<std::int64_t>(rows, 32ll * multiprocessors());
  copy_first_trial_kernel<<<static_cast<int>(grid), kRefThreads, 0, stream>>>(p, trials, grid);
  XBARMC_CUDA_CHECK_LAUNCH();
}

int detail::multiprocessors() {
  static int sms = [] {
    int dev = 0, n = 0;
    XBARMC_CUDA_CHECK(cudaGetDevice(&dev));
    XBARMC_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    return n;
  }();
  return sms;
}

void detail::add_item_errors(const double* item_err, std::int64_t chunks_per_trial, int n_col_tiles, int trials,
                             double* errors, cudaStream_t stream) {
  item_error_kernel<<<(trials + 127) / 128, 128, 0, stream>>>(item_err, chunks_per_trial, n_col_tiles, trials, errors);
  XBARMC_CUDA_CHECK_LAUNCH();
}

DeviceMatrix upload_matrix(const MappedMatrix& m) {
  detail::HostMatrix h = detail::host_matrix(m);
  DeviceMatrix d;
  d.hw = h.hw;
  d.K = h.K;
  d.M = h.M;
  d.tiles = h.tiles;
  d.n_row_tiles = h.n_row_tiles;
  d.n_col_tiles = h.n_col_tiles;
  d.rows_p = h.rows_p;
  d.cols_p = h.cols_p;
  d.n_windows = h.n_windows;
  d.win_cols = h.win_cols;
  d.max_logical = h.max_logical;
  d.cell = h.cell;
  d.weight_offset = h.weight_offset;
  d.row_of = DeviceBuffer<std::int32_t>::from_host(h.row_of);
  d.tile_rows = DeviceBuffer<std::int32_t>::from_host(h.tile_rows);
  d.adc_step = DeviceBuffer<float>::from_host(h.adc_step);
  d.win_tile = DeviceBuffer<std::int32_t>::from_host(h.win_tile);
  d.win_col0 = DeviceBuffer<std::int32_t>::from_host(h.win_col0);
  d.adc_inv = DeviceBuffer<float>::from_host(h.adc_inv);
  d.ct_count = DeviceBuffer<std::int32_t>::from_host(h.ct_count);
  d.ct_logical = DeviceBuffer<std::int32_t>::from_host(h.ct_logical);
  d.ct_start = DeviceBuffer<std::int32_t>::from_host(h.ct_start);
  d.ct_cols = DeviceBuffer<std::int32_t>::from_host(h.ct_cols);
  d.ct_weight = DeviceBuffer<double>::from_host(h.ct_weight);
  d.level = DeviceBuffer<std::uint8_t>::from_host(h.level);
  if (!h.verified.empty()) d.verified = DeviceBuffer<std::uint8_t>::from_host(h.verified);
  d.weight_scale = DeviceBuffer<float>::from_host(h.weight_scale);
  return d;
}

namespace {

InstantiateParams instantiate_params(const DeviceMatrix& m, std::uint64_t seed, std::uint32_t trial0,
                                     std::uint32_t layer_id, std::int64_t first, std::int64_t count,
                                     unsigned long long* stuck) {
  InstantiateParams p;
  p.cell = m.cell;
  p.wires = physics::Wires{m.hw.r_wire, m.hw.r_driver, m.hw.r_sense};
  p.static_ir = m.hw.ir_drop == IrDrop::static_resistance;
  p.rows = m.hw.rows;
  p.cols = m.hw.cols;
  p.tiles = m.tiles;
  p.rows_p = m.rows_p;
  p.cols_p = m.cols_p;
  p.level = m.level.data();
  p.verified = m.verified.size() ? m.verified.data() : nullptr;
  p.seed = seed;
  p.trial0 = trial0;
  p.layer = layer_id;
  p.first = first;
  p.count = count;
  p.hi = nullptr;
  p.lo = nullptr;
  p.g_out = nullptr;
  p.stuck = stuck;
  return p;
}

void launch_instantiate(const InstantiateParams& p, cudaStream_t stream) {
  const std::int64_t total = static_cast<std::int64_t>(p.rows) * p.cols * p.count;
  const int grid = static_cast<int>(std::min<std::int64_t>((total + 255) / 256, 32ll * multiprocessors()));
  instantiate_kernel<<<std::max(grid, 1), 256, 0, stream>>>(p);
  XBARMC_CUDA_CHECK_LAUNCH();
}

}  // namespace

namespace detail {

void sample_conductances(const DeviceMatrix& m, std::uint64_t seed, std::uint32_t trial0, std::uint32_t layer_id,
                         std::int64_t first, std::int64_t count, double* g, unsigned long long* stuck,
                         cudaStream_t stream) {
  InstantiateParams p = instantiate_params(m, seed, trial0, layer_id, first, count, stuck);
  p.g_out = g;
  launch_instantiate(p, stream);
}

}  // namespace detail

void instantiate_chips(const DeviceMatrix& m, std::uint64_t seed, std::uint32_t trial0, int trials,
                       std::uint32_t layer_id, __half* leff_hi, __half* leff_lo, unsigned long long* stuck,
                       cudaStream_t stream) {
  if (m.hw.ir_drop == IrDrop::exact) {
    throw Unsupported(
        "ir_drop exact: chip instances with the exact elimination are drawn on the host "
        "(instantiate_chips_on_host); instantiate_chips models IR drop none, static and iterative");
  }
  // The read region is padded to multiples of 16, which can pass the tile's edge (rows
  // = 100 reads 112 rows): those cells have no conductance and must read as level 0
  // (their DAC codes are 0, but 0 x a stale NaN pattern would still be NaN).
  if (m.rows_p > m.hw.rows || m.cols_p > m.hw.cols) {
    const std::size_t bytes = sizeof(__half) * static_cast<std::size_t>(m.leff_per_chip()) * trials;
    XBARMC_CUDA_CHECK(cudaMemsetAsync(leff_hi, 0, bytes, stream));
    XBARMC_CUDA_CHECK(cudaMemsetAsync(leff_lo, 0, bytes, stream));
  }
  if (m.hw.ir_drop == IrDrop::iterative) {
    detail::instantiate_iterative(m, seed, trial0, trials, layer_id, leff_hi, leff_lo, stuck, stream);
    return;
  }
  InstantiateParams p =
      instantiate_params(m, seed, trial0, layer_id, 0, static_cast<std::int64_t>(trials) * m.tiles, stuck);
  p.hi = leff_hi;
  p.lo = leff_lo;
  launch_instantiate(p, stream);
}

int crossbar_block_threads(const CrossbarLaunch& l) {
  static const int from_env = [] {
    const char* e = std::getenv("XBARMC_CUDA_THREADS");
    return e ? std::atoi(e) : 0;
  }();
  const int t = l.threads > 0 ? l.threads : (from_env > 0 ? from_env : kDefaultThreads);
  if (t != 256 && t != 512)
    throw InvalidConfig("XBARMC_CUDA_THREADS: the crossbar kernel runs with 256 or 512 threads");
  return t;
}

const char* to_string(CrossbarKernel k) {
  switch (k) {
    case CrossbarKernel::block:
      return "block";
    case CrossbarKernel::warp:
      return "warp";
    default:
      return "automatic";
  }
}

CrossbarKernel crossbar_kernel(const CrossbarLaunch& l) {
  CrossbarKernel k = l.kernel;
  if (k == CrossbarKernel::automatic) {
    // The default: the warp kernel (the block kernel where the warp kernel cannot).
    k = static_cast<CrossbarKernel>(detail::env_choice(
        "XBARMC_CUDA_KERNEL", "a crossbar kernel",
        {{"warp", static_cast<int>(CrossbarKernel::warp)}, {"block", static_cast<int>(CrossbarKernel::block)}}));
  }
  // Read noise, tiles read over more than 128 rows or columns (the block kernel's shared
  // memory holds 128 x 128; the warp kernel reads wider tiles in column windows) run on
  // the warp kernel only.
  const bool noise = l.m->hw.read_noise > 0, tall = l.m->rows_p > 128, wide = l.m->cols_p > 128;
  if (noise || tall || wide) {
    const std::string why = detail::warp_kernel_refusal(l);
    if (!why.empty()) {
      throw Unsupported(fmt::format(
          "{}: the CUDA backend runs these on its warp kernel, which cannot: {}; use "
          "--backend cpu",
          noise ? "read_noise > 0" : fmt::format("tiles read over {} x {} cells", l.m->rows_p, l.m->cols_p), why));
    }
    return CrossbarKernel::warp;
  }
  if (k == CrossbarKernel::warp && !detail::warp_kernel_supports(l)) k = CrossbarKernel::block;
  return k;
}

std::int64_t crossbar_items(const CrossbarLaunch& l) {
  if (crossbar_kernel(l) == CrossbarKernel::warp) return detail::warp_items(l);
  const physics::InputPlan plan = physics::input_plan(l.m->hw.input_bits, l.m->hw.dac_bits, l.xq.is_signed());
  const int reads = plan.phases * plan.steps;
  const int vec = choose_chunking(l.m->rows_p, l.m->cols_p, l.m->max_logical, reads).vec;
  const std::int64_t vectors = l.samples_per_trial * l.geo.positions;
  return (vectors + vec - 1) / vec * l.m->n_col_tiles * l.trials;
}

void crossbar_layer(const CrossbarLaunch& l, cudaStream_t stream) {
  crossbar_kernel(l);  // refusals first, before anything runs
  crossbar_reference(l, stream);
  crossbar_products(l, stream);
}

void crossbar_reference(const CrossbarLaunch& l, cudaStream_t stream) {
  const physics::InputPlan plan = physics::input_plan(l.m->hw.input_bits, l.m->hw.dac_bits, l.xq.is_signed());
  const LayerParams p = detail::common_params(*l.m, l, plan);
  if (l.same_input_per_trial && l.trials > 1) {
    detail::reference_layer(p, 1, stream);
    detail::copy_first_trial(p, l.trials, stream);
  } else {
    detail::reference_layer(p, l.trials, stream);
  }
}

void crossbar_products(const CrossbarLaunch& l, cudaStream_t stream) {
  const CrossbarKernel kernel = crossbar_kernel(l);
  const DeviceMatrix& m = *l.m;
  const HardwareConfig& hw = m.hw;
  const physics::InputPlan plan = physics::input_plan(hw.input_bits, hw.dac_bits, l.xq.is_signed());
  LayerParams p = detail::common_params(m, l, plan);
  if (kernel == CrossbarKernel::warp) return detail::warp_layer(l, stream);
  if (p.read_noise > 0.0f) throw Error("internal: the block crossbar kernel was asked for read noise");
  if (m.n_windows != m.n_col_tiles || m.win_cols != m.cols_p)
    throw Error("internal: the block crossbar kernel was asked for column windows");
  if (p.reads > 128) throw Unsupported("more than 128 reads per input vector");
  const Chunking chunking = choose_chunking(m.rows_p, m.cols_p, m.max_logical, p.reads);
  p.vec = chunking.vec;
  p.smem = chunking.smem;
  if (p.smem.total > 227 * 1024) throw Unsupported("a tile too large for the CUDA crossbar kernel's shared memory");
  p.chunks_per_trial = (p.vectors_per_trial + p.vec - 1) / p.vec;
  p.items = p.chunks_per_trial * m.n_col_tiles * l.trials;
  const std::int64_t blocks_wanted = 4ll * multiprocessors();
  p.items_per_block = std::max<std::int64_t>(1, (p.items + blocks_wanted - 1) / blocks_wanted);
  const int grid = static_cast<int>((p.items + p.items_per_block - 1) / p.items_per_block);
  const std::size_t smem = static_cast<std::size_t>(p.smem.total);
  const int threads = crossbar_block_threads(l);
  if (threads == 512) {
    XBARMC_CUDA_CHECK(cudaFuncSetAttribute(block_crossbar_kernel<512>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(smem)));
    block_crossbar_kernel<512><<<grid, 512, smem, stream>>>(p);
  } else {
    XBARMC_CUDA_CHECK(cudaFuncSetAttribute(block_crossbar_kernel<256>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(smem)));
    block_crossbar_kernel<256><<<grid, 256, smem, stream>>>(p);
  }
  XBARMC_CUDA_CHECK_LAUNCH();
  detail::add_item_errors(p.item_err, p.chunks_per_trial, m.n_col_tiles, l.trials, l.errors, stream);
}

}  // namespace xbarmc::cuda
