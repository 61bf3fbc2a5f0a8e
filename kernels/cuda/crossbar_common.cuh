#pragma once
// What the two crossbar kernels share (crossbar_cuda.cu: the block kernel; crossbar_warp.cu:
// the warp kernel): the launch parameters, the input gather and output addressing of a
// layer's vectors, and host helpers. Internal to kernels/cuda/.

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "crossbar_cuda.cuh"
#include "simt.hpp"
#include "warp_layout.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/physics/crossbar.hpp"
#include "xbarmc/physics/dac.hpp"

namespace xbarmc::cuda::detail {

/// Read noise runs on the warp kernel with DAC codes of at most this many bits: the
/// variance product takes the squared codes in f16, one part while they are at most
/// 2^11 (codes of up to 5 bits), split into hi + lo parts above (exact while the square
/// fits f16's range, 255^2 < 65504).
constexpr int kNoiseMaxDacBits = 8;
constexpr int kNoiseOnePartDacBits = 5;

struct SmemLayout {
  int bh, bl, a, c, y, q, red, col, rowk, total;
};

struct LayerParams {
  // cols_p: a window's width; n_col_tiles: windows (the items' column index); tile_cols:
  // the mapping's column tiles; leff_cols: columns per tile row of the chips and ADC tables.
  int rows_p, cols_p, tiles, n_row_tiles, n_col_tiles, max_logical;
  int tile_cols, leff_cols;
  const std::int32_t* win_tile;
  const std::int32_t* win_col0;
  const std::int32_t* row_of;
  const std::int32_t* tile_rows;  // [tiles] rows up to the last one holding an input, rounded up to 16
  const float* adc_step;
  const float* adc_inv;
  const std::int32_t* ct_count;
  const std::int32_t* ct_logical;
  const std::int32_t* ct_start;
  const std::int32_t* ct_cols;
  const double* ct_weight;
  const float* weight_scale;
  int adc_bits, weight_offset;
  bool float_acc;         // float_phase_accumulator (physics/crossbar.hpp), as the CPU
  bool exact_shift_add;   // warp::exact_shift_add: the warp kernel adds reads in registers
  bool skip_zero_phases;  // warp_batch_body: a signed vector's phases whose DAC codes are all 0 are not read
  int phases, steps, dac_bits, reads, vec;
  quant::Quantizer xq;
  LayerGeometry geo;
  int group;
  const __half* hi;
  const __half* lo;
  std::int64_t vectors_per_trial, chunks_per_trial, items, items_per_block;
  std::int64_t run_vectors_per_trial;  // over all image passes: sets the chunk size (kPassImages)
  std::int64_t samples_per_trial;
  std::int64_t in_stride, out_stride;  // floats per sample
  const float* in;
  float* out;
  const float* bias;
  bool relu;
  const float* weights;  // K x M float weights of the group (the error reference)
  // Read noise (warp kernel): relative sigma per cell current, where its draws live
  // (physics::read_noise_z), and g_min / dG to turn effective levels into G / dG.
  float read_noise, gmin_dg;
  int hw_cols;
  std::uint64_t seed;
  std::uint32_t trial0, layer_id;
  std::int64_t vector_base;
  double* item_err;  // per item {err, ref}
  SmemLayout smem;
  warp::FastDiv positions_div, ow_div;  // geo.positions and geo.OW (warp kernel's index arithmetic)
};

XBARMC_SIMT float gather_input(const LayerParams& p, std::int64_t sample, std::int64_t pos, std::int32_t k) {
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

XBARMC_SIMT float* output_at(const LayerParams& p, std::int64_t sample, std::int64_t pos, std::int64_t m_global) {
  const LayerGeometry& g = p.geo;
  float* y = p.out + sample * p.out_stride;
  if (g.conv || g.transposed_input) return y + m_global * g.positions + pos;
  return y + pos * (g.M * g.groups) + m_global;
}

/// Sample and position of vector vg of a trial (vectors per trial < 2^31: checked by
/// reference_layer and warp_kernel_refusal; the block kernel's launches pass it too).
struct SamplePos {
  int sample, pos;
};
XBARMC_SIMT SamplePos sample_pos(const LayerParams& p, std::int64_t vg) {
  const int vl = static_cast<int>(vg);
  const int sample = warp::div(vl, p.positions_div);
  return SamplePos{sample, vl - sample * static_cast<int>(p.positions_div.d)};
}

// A tile row's input, decoded once per row tile: x = logical input k (-1: unused row);
// convolutions: y = input channel, z = ky * dh - pt, w = kx * dw - pl.
XBARMC_SIMT int4 row_input(const LayerParams& p, std::int32_t k) {
  int4 ri = make_int4(k, 0, 0, 0);
  const LayerGeometry& g = p.geo;
  if (k >= 0 && g.conv) {
    const int kw = static_cast<int>(g.kw), kh = static_cast<int>(g.kh);
    const int kx = k % kw, ky = (k / kw) % kh, c = k / (kw * kh);
    ri.y = p.group * static_cast<int>(g.C / g.groups) + c;
    ri.z = ky * static_cast<int>(g.dh) - static_cast<int>(g.pt);
    ri.w = kx * static_cast<int>(g.dw) - static_cast<int>(g.pl);
  }
  return ri;
}

// A vector's place: its sample's input, its position, and (convolutions) the top-left
// input coordinates of its window.
struct VectorSite {
  const float* x;
  int pos, iy0, ix0;
};
XBARMC_SIMT VectorSite vector_site(const LayerParams& p, int t, std::int64_t vg) {
  const SamplePos sp = sample_pos(p, vg);
  VectorSite s;
  s.x = p.in + (static_cast<std::int64_t>(t) * p.samples_per_trial + sp.sample) * p.in_stride;
  s.pos = sp.pos;
  s.iy0 = 0;
  s.ix0 = 0;
  if (p.geo.conv) {
    const int oy = warp::div(s.pos, p.ow_div);
    s.iy0 = oy * static_cast<int>(p.geo.sh);
    s.ix0 = (s.pos - oy * static_cast<int>(p.ow_div.d)) * static_cast<int>(p.geo.sw);
  }
  return s;
}

// The input of a row for a vector (gather_input with the divisions done once).
XBARMC_SIMT float gather_row(const LayerParams& p, const VectorSite& s, int4 ri) {
  if (ri.x < 0) return 0.0f;
  const LayerGeometry& g = p.geo;
  if (g.conv) {
    const int iy = s.iy0 + ri.z, ix = s.ix0 + ri.w;
    const int H = static_cast<int>(g.H), W = static_cast<int>(g.W);
    if (iy < 0 || iy >= H || ix < 0 || ix >= W) return 0.0f;
    return s.x[(static_cast<std::int64_t>(ri.y) * H + iy) * W + ix];
  }
  if (g.transposed_input) return s.x[(static_cast<std::int64_t>(p.group) * g.K + ri.x) * g.positions + s.pos];
  return s.x[s.pos * (g.K * g.groups) + static_cast<std::int64_t>(p.group) * g.K + ri.x];
}

constexpr int kRefThreads = 256;
constexpr int kRefTV = 4;     // vectors per thread
constexpr int kRefTC = 4;     // logical columns per thread
constexpr int kRefRows = 16;  // rows staged per step (tile_rows are multiples of 16)

/// The float reference's blocking: a block computes reference_block_vectors(p)
/// consecutive vectors of one trial x reference_block_cols(p) logical columns of one
/// window, a thread kRefTV x kRefTC of them.
/// The column block is the narrowest of 8, 16, 32 or 64 that holds the window's columns
/// (LeNet-5's conv1, 6 columns: 8 columns x 512 vectors per block).
XBARMC_HD int reference_block_cols(const LayerParams& p) {
  int bc = 8;
  while (bc < 64 && bc < p.max_logical) bc *= 2;
  return bc;
}
XBARMC_HD int reference_block_vectors(const LayerParams& p) {
  return kRefThreads / (reference_block_cols(p) / kRefTC) * kRefTV;
}
/// Blocks over a trial's vectors, and over (column block, window, trial) triples: a
/// launch's blocks are their product.
XBARMC_HD std::int64_t reference_vector_blocks(const LayerParams& p) {
  const int bv = reference_block_vectors(p);
  return (p.vectors_per_trial + bv - 1) / bv;
}
XBARMC_HD std::int64_t reference_column_blocks(const LayerParams& p, int trials) {
  const int bc = reference_block_cols(p);
  return static_cast<std::int64_t>((p.max_logical + bc - 1) / bc) * p.n_col_tiles * trials;
}
XBARMC_HD std::int64_t reference_blocks(const LayerParams& p, int trials) {
  return reference_vector_blocks(p) * reference_column_blocks(p, trials);
}
/// Shared memory of a reference block: the row table of a row tile (rows_p int4), the
/// gathered inputs of kRefRows rows x its vectors, their weights (kRefRows x its columns)
/// and its columns' logical indices.
XBARMC_HD std::size_t reference_smem_bytes(const LayerParams& p) {
  return sizeof(int4) * static_cast<std::size_t>(p.rows_p) +
         sizeof(float) * kRefRows * (reference_block_vectors(p) + reference_block_cols(p)) +
         sizeof(int) * reference_block_cols(p);
}

/// The layer's float reference (the exact float product of each vector's inputs with the
/// float weights, the error sums' "ref") written where the layer's output goes; the
/// crossbar kernel's finish_item reads it there and overwrites it with the output. Rows are
/// added in the order the tile reads them (row tile after row tile, rows in tile order),
/// as the CPU's reference: per row of a vector, ref += x * w where x != 0. (Adding x * w
/// for x == 0 as well changes no bit: the weights are finite (mapped_matrix refuses
/// others) and a sum started at +0 is never -0, so ref + (+-0) == ref.)
/// A tiled product: per step of kRefRows rows, the block gathers its vectors' inputs once
/// into shared memory (before: once per logical column) and stages the rows' weights;
/// each thread then adds kRefRows rows into its kRefTV x kRefTC sums, each sum serially in
/// row order, so the bits are those of one thread per (vector, column).
/// Blocks b, b + grid, ...; smem: reference_smem_bytes(p).
XBARMC_SIMT void reference_body(const LayerParams& p, int trials, std::int64_t grid, unsigned char* smem) {
  const int tid = simt::thread_x();
  const int bc = reference_block_cols(p), bv = reference_block_vectors(p);
  const int tcols = bc / kRefTC;  // threads across the columns
  const int tvecs = kRefThreads / tcols;
  const int tv = tid % tvecs, tc = tid / tvecs;
  int4* rowinfo = reinterpret_cast<int4*>(smem);
  float* xs = reinterpret_cast<float*>(rowinfo + p.rows_p);  // [kRefRows][bv]
  float* ws = xs + kRefRows * bv;                            // [kRefRows][bc]
  int* colm = reinterpret_cast<int*>(ws + kRefRows * bc);    // [bc] logical column, -1: none
  // 32-bit index arithmetic (64-bit divisions are calls that spill): vectors per trial
  // and (column block, window, trial) triples are below 2^31 (reference_layer checks).
  const int V = static_cast<int>(p.vectors_per_trial);
  const int vblocks = static_cast<int>(reference_vector_blocks(p));
  const int cblocks = (p.max_logical + bc - 1) / bc;
  const int rests = static_cast<int>(reference_column_blocks(p, trials));
  const int M = static_cast<int>(p.geo.M);
  // The gather: element e = tid + i * kRefThreads of the kRefRows x bv step is row e / bv,
  // vector e % bv; a thread's vectors are the same in every step (bv divides or is twice
  // kRefThreads).
  const int gvecs = bv > kRefThreads ? bv / kRefThreads : 1;  // vectors a thread gathers
  const int per_step = kRefRows * bv / kRefThreads;           // elements a thread gathers
  // Block b = rest * vblocks + vb; b, b + grid, ...: (rest, vb) advanced without division.
  const int grid_rest = static_cast<int>(grid / vblocks), grid_vb = static_cast<int>(grid % vblocks);
  int rest = simt::block_x() / vblocks, vb = simt::block_x() % vblocks;
  for (; rest < rests; rest += grid_rest, vb += grid_vb) {
    if (vb >= vblocks) {
      vb -= vblocks;
      if (++rest >= rests) break;
    }
    const int cb = rest % cblocks;
    const int ct = (rest / cblocks) % p.n_col_tiles;
    const int t = rest / (cblocks * p.n_col_tiles);
    const int mt = p.ct_count[ct];
    if (cb * bc >= mt) continue;  // the whole block: no column of this window here
    const int v0 = vb * bv;
    // The (at most two) vectors this thread gathers: v0 + tid % bv, and v0 + tid + 256
    // where bv = 512.
    const int vg0 = v0 + tid % bv, vg1 = v0 + tid + kRefThreads;
    const VectorSite site0 = vector_site(p, t, vg0 < V ? vg0 : 0);
    const VectorSite site1 = vector_site(p, t, gvecs > 1 && vg1 < V ? vg1 : 0);
    float acc[kRefTV][kRefTC];
    XBARMC_UNROLL
    for (int i = 0; i < kRefTV; ++i) {
      XBARMC_UNROLL
      for (int j = 0; j < kRefTC; ++j) acc[i][j] = 0.0f;
    }
    simt::sync_block();  // the previous block's colm is read
    for (int c = tid; c < bc; c += kRefThreads) {
      const int j = cb * bc + c;
      colm[c] = j < mt ? p.ct_logical[static_cast<std::int64_t>(ct) * p.max_logical + j] : -1;
    }
    for (int rt = 0; rt < p.n_row_tiles; ++rt) {
      const int tile = rt * p.tile_cols + p.win_tile[ct];
      const int rows = p.tile_rows[tile];  // rows past the last one holding an input have none
      simt::sync_block();                  // the previous row tile's rows are read
      for (int r = tid; r < rows; r += kRefThreads)
        rowinfo[r] = row_input(p, p.row_of[static_cast<std::int64_t>(tile) * p.rows_p + r]);
      for (int r0 = 0; r0 < rows; r0 += kRefRows) {
        simt::sync_block();  // rowinfo written; the previous step's inputs and weights read
        for (int i = 0; i < per_step; ++i) {
          const int e = tid + i * kRefThreads;
          const int rr = e / bv, v = e - rr * bv;
          const bool live = v0 + v < V;
          VectorSite site = site0;
          if (gvecs > 1 && (i & 1)) site = site1;
          xs[e] = live ? gather_row(p, site, rowinfo[r0 + rr]) : 0.0f;
        }
        for (int e = tid; e < kRefRows * bc; e += kRefThreads) {
          const int rr = e / bc, c = e - rr * bc;
          const int k = rowinfo[r0 + rr].x, m = colm[c];
          ws[e] = k >= 0 && m >= 0 ? p.weights[static_cast<std::int64_t>(k) * M + m] : 0.0f;
        }
        simt::sync_block();
        for (int rr = 0; rr < kRefRows; ++rr) {
          static_assert(kRefTC == 4, "one float4 of weights per thread and row");
          const float4 w4 = reinterpret_cast<const float4*>(ws + rr * bc)[tc];
          const float w[kRefTC] = {w4.x, w4.y, w4.z, w4.w};
          XBARMC_UNROLL
          for (int i = 0; i < kRefTV; ++i) {
            const float x = xs[rr * bv + tv + i * tvecs];
            XBARMC_UNROLL
            for (int j = 0; j < kRefTC; ++j) acc[i][j] += x * w[j];
          }
        }
      }
    }
    XBARMC_UNROLL
    for (int i = 0; i < kRefTV; ++i) {
      const int vg = v0 + tv + i * tvecs;
      if (vg >= V) continue;
      const SamplePos sp = sample_pos(p, vg);
      for (int j = 0; j < kRefTC; ++j) {
        const int m = colm[tc * kRefTC + j];
        if (m < 0) continue;
        *output_at(p, static_cast<std::int64_t>(t) * p.samples_per_trial + sp.sample, sp.pos,
                   static_cast<std::int64_t>(p.group) * M + m) = acc[i][j];
      }
    }
  }
}

/// Where every trial reads the same inputs (CrossbarLaunch::same_input_per_trial), the
/// float reference is computed for the first trial only (reference_body with one trial)
/// and copied to the others: the group's outputs of samples s = 0 .. samples_per_trial - 1
/// to those of samples t x samples_per_trial + s, t = 1 .. trials - 1 (the same bits, since
/// reference_body's sums do not depend on the trial). Block b copies the (trial, sample)
/// rows b, b + grid, ...; its threads take the row's outputs in memory order.
XBARMC_SIMT void copy_first_trial_body(const LayerParams& p, int trials, std::int64_t grid) {
  const LayerGeometry& g = p.geo;
  const int M = static_cast<int>(g.M), P = static_cast<int>(g.positions);
  const int per = M * P;  // one sample's outputs of the group (< 2^31: vectors per trial are)
  const bool column_major = g.conv || g.transposed_input;  // output_at: m x positions + pos
  const std::int64_t rows = static_cast<std::int64_t>(trials - 1) * p.samples_per_trial;
  for (std::int64_t r = simt::block_x(); r < rows; r += grid) {
    const std::int64_t s = r % p.samples_per_trial, t = 1 + r / p.samples_per_trial;
    for (int j = simt::thread_x(); j < per; j += kRefThreads) {
      const int m = column_major ? j / P : j % M, pos = column_major ? j % P : j / M;
      const std::int64_t mg = static_cast<std::int64_t>(p.group) * M + m;
      *output_at(p, t * p.samples_per_trial + s, pos, mg) = *output_at(p, s, pos, mg);
    }
  }
}

/// Writes the layer's float reference into its outputs (reference_body) before the
/// crossbar kernel runs (crossbar_cuda.cu).
void reference_layer(const LayerParams& p, int trials, cudaStream_t stream);
/// Copies the first trial's float reference to the other trials' outputs
/// (copy_first_trial_body).
void copy_first_trial(const LayerParams& p, int trials, cudaStream_t stream);

/// A column window's logical outputs: logical column j sums the physical columns
/// cols[start[j]] .. cols[start[j + 1] - 1] with the weights wcol[...] (mapped_matrix's
/// order, the CPU's).
struct WindowColumns {
  const std::int32_t* start;
  const std::int32_t* cols;
  const double* wcol;
};
XBARMC_SIMT WindowColumns window_columns(const LayerParams& p, int ct) {
  return WindowColumns{p.ct_start + static_cast<std::int64_t>(ct) * (p.max_logical + 1),
                       p.ct_cols + static_cast<std::int64_t>(ct) * p.cols_p,
                       p.ct_weight + static_cast<std::int64_t>(ct) * p.cols_p};
}

/// One work item of a crossbar launch: a chunk of up to p.vec vectors (from v0; nv of
/// them) of trial t and column tile ct, whose mt logical columns it computes.
struct Item {
  std::int64_t v0;
  int ct, t, nv, mt;
};
XBARMC_SIMT Item item_of(const LayerParams& p, std::int64_t item) {
  Item it;
  const std::int64_t ch = item % p.chunks_per_trial;
  it.ct = static_cast<int>((item / p.chunks_per_trial) % p.n_col_tiles);
  it.t = static_cast<int>(item / (p.chunks_per_trial * p.n_col_tiles));
  it.v0 = ch * p.vec;
  const std::int64_t left = p.vectors_per_trial - it.v0;
  it.nv = static_cast<int>(left < p.vec ? left : p.vec);
  it.mt = p.ct_count[it.ct];
  return it;
}

/// The end of an item, the same in both kernels (kThreads threads; call after a block
/// barrier): per (vector, logical column) the offset, scales, bias and ReLU, the layer
/// output, written over the float reference that reference_layer left there; the item's
/// error sums {sum (y - ref)^2, sum ref^2} reduced over the block in a fixed tree (the same
/// result on every run) into p.item_err[2 item]. Y: [vec][max_logical] integer-domain
/// outputs, Q: [vec] input code sums (offset mode), red: 2 x kThreads / 32 doubles of
/// scratch.
template <int kThreads>
XBARMC_SIMT void finish_item(const LayerParams& p, const Item& it, std::int64_t item, const double* Y,
                             const long long* Q, double* red) {
  const int tid = simt::thread_x(), lane = tid % 32, warp = tid / 32;
  const std::int32_t* logical_j = p.ct_logical + static_cast<std::int64_t>(it.ct) * p.max_logical;
  double e_sum = 0.0, r_sum = 0.0;
  for (int i = tid; i < it.nv * it.mt; i += kThreads) {
    const int v = i / it.mt, j = i % it.mt;
    const std::int32_t m = logical_j[j];
    double acc = Y[v * p.max_logical + j];
    if (p.weight_offset != 0) acc -= static_cast<double>(p.weight_offset) * static_cast<double>(Q[v]);
    float y = static_cast<float>(acc * static_cast<double>(p.weight_scale[m]) * static_cast<double>(p.xq.scale));
    const std::int64_t mg = static_cast<std::int64_t>(p.group) * p.geo.M + m;
    const SamplePos sp = sample_pos(p, it.v0 + v);
    float* dst = output_at(p, static_cast<std::int64_t>(it.t) * p.samples_per_trial + sp.sample, sp.pos, mg);
    const double ref = *dst;
    e_sum += (static_cast<double>(y) - ref) * (static_cast<double>(y) - ref);
    r_sum += ref * ref;
    if (p.bias) y += p.bias[mg];
    if (p.relu) y = y > 0.0f ? y : 0.0f;
    *dst = y;
  }
  for (int o = 16; o > 0; o /= 2) {
    e_sum += simt::shfl_xor(e_sum, o);
    r_sum += simt::shfl_xor(r_sum, o);
  }
  if (lane == 0) {
    red[warp] = e_sum;
    red[kThreads / 32 + warp] = r_sum;
  }
  simt::sync_block();
  if (tid == 0) {
    double e = 0.0, r = 0.0;
    for (int w = 0; w < kThreads / 32; ++w) {
      e += red[w];
      r += red[kThreads / 32 + w];
    }
    p.item_err[2 * item] = e;
    p.item_err[2 * item + 1] = r;
  }
}

/// A mapped matrix's tables as the crossbar kernels read them, in host memory: the
/// fields of DeviceMatrix, with std::vector where it has DeviceBuffer. upload_matrix
/// copies them to the device; the CPU emulation tests (tests/simt/) read them in place.
struct HostMatrix {
  HardwareConfig hw;
  std::int64_t K = 0, M = 0;
  int tiles = 0, n_row_tiles = 0, n_col_tiles = 0;
  int rows_p = 0, cols_p = 0, n_windows = 0, win_cols = 0, max_logical = 0;
  physics::CellModel cell;
  int weight_offset = 0;
  std::vector<std::int32_t> row_of, tile_rows;
  std::vector<float> adc_step, adc_inv;
  std::vector<std::int32_t> win_tile, win_col0;
  std::vector<std::int32_t> ct_count, ct_logical, ct_start, ct_cols;
  std::vector<double> ct_weight;
  std::vector<std::uint8_t> level, verified;
  std::vector<float> weight_scale;
};

/// The tables of a mapped matrix (kernels/cuda/host_matrix.cpp). Throws Unsupported for
/// what the GPU path does not model (a logical column spread over more than 128 physical
/// columns; row tiles of one column tile holding different columns).
HostMatrix host_matrix(const MappedMatrix& m);

/// Vectors per trial of a launch's whole run, over all image passes: what its chunks are
/// sized from (kPassImages).
inline std::int64_t run_vectors_per_trial(const CrossbarLaunch& l) {
  return (l.run_samples_per_trial > 0 ? l.run_samples_per_trial : l.samples_per_trial) * l.geo.positions;
}

/// The fields of LayerParams both kernels fill the same way (everything but the
/// chunking, the shared-memory layout and the grid split), from a matrix's tables
/// (DeviceMatrix or HostMatrix: the same member names) and a launch's other fields.
/// Throws Unsupported for what the GPU kernels do not model.
template <class Matrix>
LayerParams common_params(const Matrix& m, const CrossbarLaunch& l, const physics::InputPlan& plan) {
  const HardwareConfig& hw = m.hw;
  // The warp kernel stages two rows' magnitudes per 32-bit word.
  if (plan.magnitude_bits > 16)
    throw Unsupported(
        fmt::format("{}-bit input magnitudes: the CUDA backend takes at most 16 (input_bits)", plan.magnitude_bits));
  // DAC codes enter the tensor-core product as fp16, exact up to 2^11.
  if (std::min(plan.dac_bits, plan.magnitude_bits) > 11) {
    throw Unsupported(
        fmt::format("dac_bits {} with {}-bit input magnitudes: the CUDA backend applies DAC codes of at most 11 bits "
                    "exactly; use a smaller dac_bits or --backend cpu",
                    plan.dac_bits, plan.magnitude_bits));
  }
  LayerParams p{};
  p.rows_p = m.rows_p;
  p.cols_p = m.win_cols;
  p.tiles = m.tiles;
  p.n_row_tiles = m.n_row_tiles;
  p.n_col_tiles = m.n_windows;
  p.tile_cols = m.n_col_tiles;
  p.leff_cols = m.cols_p;
  p.win_tile = m.win_tile.data();
  p.win_col0 = m.win_col0.data();
  p.max_logical = m.max_logical;
  p.row_of = m.row_of.data();
  p.tile_rows = m.tile_rows.data();
  p.adc_step = m.adc_step.data();
  p.adc_inv = m.adc_inv.data();
  p.ct_count = m.ct_count.data();
  p.ct_logical = m.ct_logical.data();
  p.ct_start = m.ct_start.data();
  p.ct_cols = m.ct_cols.data();
  p.ct_weight = m.ct_weight.data();
  p.weight_scale = m.weight_scale.data();
  p.adc_bits = hw.adc_bits;
  p.weight_offset = m.weight_offset;
  p.float_acc = float_phase_accumulator(hw, plan);
  p.exact_shift_add = warp::exact_shift_add(hw.adc_bits, plan.steps, plan.dac_bits);
  p.skip_zero_phases = true;
  p.phases = plan.phases;
  p.steps = plan.steps;
  p.dac_bits = plan.dac_bits;
  p.reads = plan.phases * plan.steps;
  p.xq = l.xq;
  p.geo = l.geo;
  // (positions and OW are below 2^31: the warp kernel takes vectors per trial < 2^31)
  p.positions_div = warp::fast_div(static_cast<std::uint32_t>(std::max<std::int64_t>(1, l.geo.positions)));
  p.ow_div = warp::fast_div(static_cast<std::uint32_t>(std::max<std::int64_t>(1, l.geo.OW)));
  p.group = l.group;
  p.hi = l.leff_hi;
  p.lo = l.leff_lo;
  p.samples_per_trial = l.samples_per_trial;
  p.vectors_per_trial = l.samples_per_trial * l.geo.positions;
  p.run_vectors_per_trial = run_vectors_per_trial(l);
  const LayerGeometry& g = l.geo;
  p.in_stride = g.conv ? g.C * g.H * g.W : g.positions * g.K * g.groups;
  p.out_stride = g.conv ? g.groups * g.M * g.OH * g.OW : g.positions * g.M * g.groups;
  p.in = l.in;
  p.out = l.out;
  p.bias = l.bias;
  p.relu = l.relu;
  p.weights = l.weights;
  p.item_err = l.scratch;
  p.read_noise = static_cast<float>(hw.read_noise);
  p.gmin_dg = static_cast<float>(m.cell.g_min / m.cell.dg);
  p.hw_cols = hw.cols;
  p.seed = l.seed;
  p.trial0 = l.trial0;
  p.layer_id = l.layer_id;
  p.vector_base = l.vector_base;
  return p;
}

/// Trial t's items' error sums {err, ref} (item = chunk + chunks x (column tile + tiles x
/// trial), as item_of) added onto errors[2 t] and errors[2 t + 1] one by one, chunk after
/// chunk and, within a chunk, column tile after column tile: the order of the trial's
/// vectors. A run in several image passes, each pass cutting the same chunks as one pass
/// would (kPassImages), continues the same sum, so it gives the same bits.
XBARMC_SIMT void fold_item_errors(const double* item_err, std::int64_t chunks_per_trial, int n_col_tiles, int t,
                                  double* errors) {
  double e = errors[2 * t], r = errors[2 * t + 1];
  for (std::int64_t ch = 0; ch < chunks_per_trial; ++ch)
    for (int ct = 0; ct < n_col_tiles; ++ct) {
      const std::int64_t item = (static_cast<std::int64_t>(t) * n_col_tiles + ct) * chunks_per_trial + ch;
      e += item_err[2 * item];
      r += item_err[2 * item + 1];
    }
  errors[2 * t] = e;
  errors[2 * t + 1] = r;
}

/// fold_item_errors for every trial of a launch, on the stream (crossbar_cuda.cu).
void add_item_errors(const double* item_err, std::int64_t chunks_per_trial, int n_col_tiles, int trials, double* errors,
                     cudaStream_t stream);

/// Multiprocessors of the current device.
int multiprocessors();

/// Stores the effective level of transfer conductance g (physics::effective_level, as the
/// CPU's instantiate) as fp16 hi + lo parts at index o.
XBARMC_HD void store_level(const physics::CellModel& cell, double g, __half* hi, __half* lo, std::int64_t o) {
  const float lf = static_cast<float>(physics::effective_level(cell, g));
  const __half h = __float2half_rn(lf);
  hi[o] = h;
  lo[o] = __float2half_rn(lf - __half2float(h));
}

/// Chip instances [first, first + count) of (trial - trial0) * tiles + tile: the drawn
/// conductances into g ([count][rows][cols], S) and the stuck counts into stuck[2 t..]
/// (crossbar_cuda.cu).
void sample_conductances(const DeviceMatrix& m, std::uint64_t seed, std::uint32_t trial0, std::uint32_t layer_id,
                         std::int64_t first, std::int64_t count, double* g, unsigned long long* stuck,
                         cudaStream_t stream);

/// instantiate_chips for ir_drop iterative: draws, the nodal PCG solves and the levels on
/// the GPU (ir_drop_cuda.cu, kernels in ir_pcg_kernel.hpp), chunked by free memory.
void instantiate_iterative(const DeviceMatrix& m, std::uint64_t seed, std::uint32_t trial0, int trials,
                           std::uint32_t layer_id, __half* leff_hi, __half* leff_lo, unsigned long long* stuck,
                           cudaStream_t stream);

/// The warp kernel (crossbar_warp.cu): whether it models this launch, its work items
/// (the size of its error scratch, in pairs), and the launch.
bool warp_kernel_supports(const CrossbarLaunch& l);
/// Why the warp kernel cannot run a launch, naming the key to change ("" when it can).
std::string warp_kernel_refusal(const CrossbarLaunch& l);
std::int64_t warp_items(const CrossbarLaunch& l);
/// True when XBARMC_CUDA_BATCH=on runs this launch on the batched body (warp_batch_applies,
/// with the register shift-add).
bool warp_batch_body_applies(const CrossbarLaunch& l);
/// True when the batched body also skips the phases whose DAC codes are all 0 on this
/// launch (warp_batch_halves; XBARMC_CUDA_SKIP_ZERO=on, the default).
bool warp_batch_skips_zero_phases(const CrossbarLaunch& l);
void warp_layer(const CrossbarLaunch& l, cudaStream_t stream);

}  // namespace xbarmc::cuda::detail
