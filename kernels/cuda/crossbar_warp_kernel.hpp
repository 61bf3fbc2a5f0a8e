#pragma once
// The warp crossbar kernel (CrossbarKernel::warp, see crossbar_cuda.cuh): its body, its
// shared-memory layout and chunking, as a header so that the same code runs on the GPU
// (crossbar_warp.cu) and on the CPU emulator of simt.hpp (tests/simt/). The layer's
// arithmetic is the block kernel's and the CPU backend's, organized so that each warp
// runs its own vectors through the whole pipeline and the block synchronizes only when
// it loads the next row tile's levels:
//   gather + quantize (input codes in the warp's shared staging)
//   -> DAC codes of 16 read slots as mma B fragments in registers
//   -> per 16-column fragment: levels (f16 hi + lo, transposed in shared memory) x codes
//      with mma.m16n8k16 (f32 accumulation), the ADC on the accumulators, the shift-add
//      over a vector's reads in the CPU's order (warp_layout.hpp)
//   -> physical columns into logical outputs in the CPU's order.
// The item's end (offset, scales, bias, ReLU, output, error sums against the float
// reference that reference_layer wrote into the outputs) is the block kernel's.

#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "crossbar_common.cuh"
#include "simt.hpp"
#include "warp_layout.hpp"
#include "xbarmc/physics/adc.hpp"
#include "xbarmc/physics/read_noise.hpp"

namespace xbarmc::cuda::detail {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kPadK = 8;                     // f16 padding per transposed level row: conflict-free fragment loads
constexpr int kMaxVectors = 256;             // vectors per item at most
constexpr int kFourBlockBudget = 56 * 1024;  // shared memory per block for four blocks per SM (228 KB per SM,
                                             // 1 KB of it reserved per block)
constexpr int kTwoBlockBudget = 113 * 1024;  // shared memory per block for two blocks per SM
constexpr int kOneBlockBudget = 220 * 1024;

// Shared-memory carve-up (byte offsets): block-wide buffers, then one region per warp.
struct WarpSmem {
  int bh, bl, rowk, inv, step, stepd, y, q, red;  // block-wide
  int warp0, warp_bytes;                          // per-warp regions
  int s, stage, col, part;                        // offsets inside a warp's region
  int rows_k;                                     // rows of a row chunk (rows_p unless the tile is read in chunks)
  int ldk;                                        // f16 per transposed level row (rows_k + kPadK)
  int batch;        // the batched body (warp_batch_body): vectors per warp batch (0: the layout is not for it)
  int cstride;      // its words of input codes per vector
  int col_vectors;  // its vectors of column sums per warp: the batch (folded into the outputs per batch) or
                    // the vectors of one pass (folded per pass)
  int total;
};

/// The mma k-steps of the kernel variant that reads a tile over `rows_p` rows: without
/// read noise the short variant up to 32 rows (a first convolution's 25-27 rows: fewer
/// registers, four blocks per SM), the narrow variant up to 128 rows, the tall one up to
/// 256, and the narrow one again, in row chunks (below), beyond. Read noise has no short
/// variant (the narrow one reads short tiles too).
XBARMC_HD int warp_k_steps(int rows_p, bool noise) {
  if (!noise && rows_p <= 16 * warp::kShortKSteps) return warp::kShortKSteps;
  return rows_p > 16 * warp::kMaxKSteps && rows_p <= 16 * warp::kMaxKStepsTall ? warp::kMaxKStepsTall
                                                                               : warp::kMaxKSteps;
}

/// The blocks per SM a variant is compiled for (its __launch_bounds__, which caps its
/// registers at 65536 / (256 x blocks)) and which its shared memory is sized for.
XBARMC_HD constexpr int warp_blocks_per_sm(bool noise, int k_steps) {
  return noise || k_steps > warp::kMaxKSteps ? 1 : (k_steps == warp::kShortKSteps ? 4 : 2);
}

/// True when a tile read over `rows_p` rows is read in row chunks: more rows than the
/// levels in shared memory and the B fragments in registers hold (256). Each warp then
/// keeps its column fragments' pre-ADC sums (and read-noise variances) in its shared
/// region across the chunks, and digitizes them after the last one.
XBARMC_HD bool warp_row_chunks(int rows_p) { return rows_p > 16 * warp::kMaxKStepsTall; }

inline int align_up(int x, int a) { return (x + a - 1) / a * a; }

/// Shared memory per block for `blocks` (4, 2 or 1) blocks per SM.
inline int warp_smem_budget(int blocks) {
  return blocks == 4 ? kFourBlockBudget : blocks == 2 ? kTwoBlockBudget : kOneBlockBudget;
}

/// The shared-memory layout for items of V vectors on a tile read over rows_p x cols_p
/// cells, its levels held rows_k rows at a time (rows_k = rows_p, or the row chunk).
/// Read in chunks, each warp also keeps its pass's pre-ADC column sums (and, with read
/// noise, their variances) across the chunks.
inline WarpSmem make_warp_smem(int rows_p, int cols_p, int max_logical, const warp::ReadPlan& rp, int V, int rows_k,
                               bool noise) {
  WarpSmem s{};
  int o = 0;
  auto take = [&](std::size_t bytes) {
    const int at = o;
    o += align_up(static_cast<int>(bytes), 128);
    return at;
  };
  s.rows_k = rows_k;
  s.ldk = rows_k + kPadK;
  s.bh = take(sizeof(__half) * cols_p * s.ldk);
  s.bl = take(sizeof(__half) * cols_p * s.ldk);
  s.rowk = take(sizeof(int4) * rows_k);
  s.inv = take(sizeof(float) * cols_p);
  s.step = take(sizeof(float) * cols_p);
  s.stepd = take(sizeof(double) * cols_p);
  s.y = take(sizeof(double) * V * max_logical);
  s.q = take(sizeof(long long) * V);
  s.red = take(sizeof(double) * 2 * kWarps);
  int w = 0;
  // The input codes (per vector and phase, two rows' magnitudes per word: at most
  // rows_k words per vector); the staged ADC outputs share their room unless a vector's
  // reads run in several groups (each group needs the codes again).
  const int staged = static_cast<int>(sizeof(float)) * warp::kFrags * 4 * 32;
  s.s = w;
  if (rp.groups > 1) {
    w += align_up(static_cast<int>(sizeof(std::int32_t)) * rp.vectors * rows_k, 16);
    s.stage = w;
    w += staged;
  } else {
    s.stage = w;
    w += align_up(std::max(staged, static_cast<int>(sizeof(std::int32_t)) * rp.vectors * rows_k), 16);
  }
  s.col = w;
  w += align_up(static_cast<int>(sizeof(double)) * rp.vectors * cols_p, 16);
  s.part = w;  // per read group: [2 (sums, variances)][cols_p / 16][kFrags][4][32]
  if (rows_k < rows_p)
    w += static_cast<int>(sizeof(float)) * (cols_p / 16) * warp::kFrags * 4 * 32 * (noise ? 2 : 1) * rp.groups;
  s.warp_bytes = align_up(w, 128);
  s.warp0 = o;
  s.total = o + kWarps * s.warp_bytes;
  return s;
}

/// The batched body's layout (warp_batch_body) for batches of `batch` vectors whose
/// column sums are kept for `col_vectors` vectors at a time: the block-wide buffers of
/// `base` (the short or narrow variant's layout for the same chunks) and per warp the
/// batch's input codes ([batch][cstride] words: per phase rows_k / 2 packed pairs) and
/// the column sums ([col_vectors][cols_p] int32). cstride = the least number of words >=
/// the codes' that is 32 / batch modulo 32: the gather's stores, lane (vector v, part u)
/// at word v x cstride + u, fall in 32 different banks.
inline WarpSmem warp_batch_layout(const WarpSmem& base, int cols_p, int phases, int batch, int col_vectors) {
  WarpSmem s = base;
  s.batch = batch;
  s.col_vectors = col_vectors;
  const int words = phases * s.rows_k / 2, parts = 32 / batch;
  s.cstride = words + ((parts - words) % 32 + 32) % 32;
  s.s = 0;
  s.col = align_up(static_cast<int>(sizeof(std::uint32_t)) * batch * s.cstride, 16);
  s.stage = s.part = s.col;  // (unused)
  s.warp_bytes = align_up(s.col + static_cast<int>(sizeof(std::int32_t)) * col_vectors * cols_p, 128);
  s.total = s.warp0 + kWarps * s.warp_bytes;
  return s;
}

/// The batched body's layout that fits `budget` bytes: the largest batch of 32, 16, 8 or
/// 4 vectors with the whole batch's column sums (folded into the outputs once per batch),
/// else the largest with one pass's (`pass_vectors`, folded after each pass); batch 0 when
/// none fits.
inline WarpSmem warp_batch_smem(const WarpSmem& base, int cols_p, int phases, int pass_vectors, int budget) {
  for (const bool per_batch : {true, false}) {
    for (const int batch : {32, 16, 8, 4}) {
      const WarpSmem s = warp_batch_layout(base, cols_p, phases, batch, per_batch ? batch : pass_vectors);
      if (s.total <= budget) return s;
    }
  }
  WarpSmem none = base;
  none.batch = 0;
  return none;
}

struct WarpChunking {
  int V = 0;  // vectors per item (0: does not fit)
  WarpSmem smem{};
  int blocks_per_sm = 1;
};

/// Vectors per item and the shared-memory layout. A tile read in row chunks takes one pass
/// of vectors per warp (its partial sums live in the warp's region) and the largest chunk
/// of 128, 64, 32 or 16 rows that fits.
inline WarpChunking warp_chunking(int rows_p, int cols_p, int max_logical, const warp::ReadPlan& rp,
                                  std::int64_t vectors_per_trial, bool noise) {
  const int unit = kWarps * rp.vectors;
  if (warp_row_chunks(rows_p)) {
    for (int rows_k = 16 * warp::kMaxKSteps; rows_k >= 16; rows_k /= 2) {
      const WarpSmem s = make_warp_smem(rows_p, cols_p, max_logical, rp, unit, rows_k, noise);
      if (s.total <= kOneBlockBudget) return WarpChunking{unit, s, 1};
    }
    return WarpChunking{};
  }
  // Powers of two (unit is one, and kMaxVectors): a chunk then divides every image pass's
  // first vector (kPassImages), so passes cut the run's chunks. `vectors_per_trial` is
  // the whole run's, not a pass's.
  static_assert((kMaxVectors & (kMaxVectors - 1)) == 0 && kPassImages % kMaxVectors == 0, "chunks must divide a pass");
  const int vmax =
      warp::round_up_pow2(static_cast<int>(std::clamp<std::int64_t>(vectors_per_trial, unit, kMaxVectors)));
  // The most blocks per SM the variant is compiled for, then fewer.
  const int most = warp_blocks_per_sm(noise, warp_k_steps(rows_p, noise));
  for (const int blocks : {4, 2, 1}) {
    if (blocks > most) continue;
    const int budget = warp_smem_budget(blocks);
    for (int V = vmax; V >= unit; V /= 2) {
      const WarpSmem s = make_warp_smem(rows_p, cols_p, max_logical, rp, V, rows_p, noise);
      if (s.total <= budget) return WarpChunking{V, s, blocks};
    }
  }
  return WarpChunking{};
}

XBARMC_SIMT std::uint32_t pack_half2(float lo, float hi) {
  return static_cast<std::uint32_t>(__half_as_ushort(__float2half_rn(lo))) |
         (static_cast<std::uint32_t>(__half_as_ushort(__float2half_rn(hi))) << 16);
}

/// The squares of the two f16 DAC codes of an mma B register, as f16 hi + lo parts: the
/// square (exact in float) rounded to f16, and the rest, which is exact in f16 while the
/// square has at most 22 significant bits and fits f16's range: codes of up to 255
/// (detail::kNoiseMaxDacBits = 8). Codes of up to 45 (5 bits) square to at most 2^11:
/// then the lo part is 0.
XBARMC_SIMT void square_half2(std::uint32_t w, std::uint32_t& hi, std::uint32_t& lo) {
  float s[2], h[2];
  XBARMC_UNROLL
  for (int k = 0; k < 2; ++k) {
    const float x = __half2float(__ushort_as_half(static_cast<unsigned short>(w >> (16 * k))));
    s[k] = x * x;
    h[k] = __half2float(__float2half_rn(s[k]));
  }
  hi = pack_half2(h[0], h[1]);
  lo = pack_half2(s[0] - h[0], s[1] - h[1]);
}

/// The read-noise gains (G / dG)^2 of the two cells of an mma A register, from their
/// levels' hi and lo registers: G / dG = effective level + g_min / dG, squared in float and
/// split into f16 hi + lo parts like the levels.
XBARMC_SIMT void gain_fragment(std::uint32_t h, std::uint32_t l, float gmin_dg, std::uint32_t& gh, std::uint32_t& gl) {
  float g2[2], g2h[2];
  XBARMC_UNROLL
  for (int k = 0; k < 2; ++k) {
    const float x = __half2float(__ushort_as_half(static_cast<unsigned short>(h >> (16 * k)))) +
                    __half2float(__ushort_as_half(static_cast<unsigned short>(l >> (16 * k)))) + gmin_dg;
    g2[k] = x * x;
    g2h[k] = __half2float(__float2half_rn(g2[k]));
  }
  gh = pack_half2(g2h[0], g2h[1]);
  gl = pack_half2(g2[0] - g2h[0], g2[1] - g2h[1]);
}

/// The block-wide shared buffers of a warp-kernel block (WarpSmem's offsets).
struct WarpBuffers {
  __half* Bh;      // [cols_p][ldk] effective levels, hi part, transposed
  __half* Bl;      // lo part
  int4* rowinfo;   // [rows_k] each row's input (RowInput)
  float* inv_s;    // [cols_p] ADC 1 / step
  float* step_s;   // [cols_p] ADC step
  double* step_d;  // [cols_p] the same in double
  double* Y;       // [V][max_logical] outputs (integer domain)
  long long* Q;    // [V] sum of input codes (offset mode)
  double* red;     // [2][warps] block reduction
};
XBARMC_SIMT WarpBuffers warp_buffers(unsigned char* smem, const WarpSmem& w) {
  return WarpBuffers{reinterpret_cast<__half*>(smem + w.bh),  reinterpret_cast<__half*>(smem + w.bl),
                     reinterpret_cast<int4*>(smem + w.rowk),  reinterpret_cast<float*>(smem + w.inv),
                     reinterpret_cast<float*>(smem + w.step), reinterpret_cast<double*>(smem + w.stepd),
                     reinterpret_cast<double*>(smem + w.y),   reinterpret_cast<long long*>(smem + w.q),
                     reinterpret_cast<double*>(smem + w.red)};
}

/// A row tile's inputs of rows [r0, r0 + cr) (RowInput, into b.rowinfo) and, with `adc`,
/// its window's ADC steps (1 / step, step, step in double): the block's threads in turn.
XBARMC_SIMT void load_tile_setup(const LayerParams& p, const WarpBuffers& b, int tile, int col0, int r0, int cr,
                                 bool adc, int tid) {
  for (int r = tid; r < cr; r += kThreads)
    b.rowinfo[r] = row_input(p, p.row_of[static_cast<std::int64_t>(tile) * p.rows_p + r0 + r]);
  if (adc) {
    for (int c = tid; c < p.cols_p; c += kThreads) {
      b.inv_s[c] = p.adc_inv[static_cast<std::int64_t>(tile) * p.leff_cols + col0 + c];
      b.step_s[c] = p.adc_step[static_cast<std::int64_t>(tile) * p.leff_cols + col0 + c];
      b.step_d[c] = b.step_s[c];
    }
  }
}

/// The window's levels of rows [r0, r0 + cr) of chip `chip` into shared memory, transposed
/// to [column][row] (ldk f16 per column): consecutive threads take consecutive rows of one
/// 8-column group (conflict-free 2-byte stores).
XBARMC_SIMT void load_levels(const LayerParams& p, std::int64_t chip, int col0, int r0, int cr, int ldk, int tid,
                             __half* Bh, __half* Bl) {
  const uint4* gh = reinterpret_cast<const uint4*>(p.hi + (chip * p.rows_p + r0) * p.leff_cols + col0);
  const uint4* gl = reinterpret_cast<const uint4*>(p.lo + (chip * p.rows_p + r0) * p.leff_cols + col0);
  const int groups8 = p.cols_p / 8, row8 = p.leff_cols / 8;
  for (int i = tid; i < cr * groups8; i += kThreads) {
    const int r = i % cr, c = (i / cr) * 8;
    const uint4 vh = gh[r * row8 + c / 8], vl = gl[r * row8 + c / 8];
    unsigned short hh[8], hl[8];  // memcpy: reading a uint4 through __half* breaks aliasing rules
    memcpy(hh, &vh, sizeof(hh));
    memcpy(hl, &vl, sizeof(hl));
    XBARMC_UNROLL
    for (int e = 0; e < 8; ++e) {
      Bh[(c + e) * ldk + r] = __ushort_as_half(hh[e]);
      Bl[(c + e) * ldk + r] = __ushort_as_half(hl[e]);
    }
  }
}

/// The A operands of a product: the levels' hi and lo parts of columns m0..m0 + 15 and
/// rows ks x 16..+15 (transposed in shared memory, ldk f16 per column), each by one
/// ldmatrix (the registers a_register names: warp::a_ldmatrix_row). A column's rows start
/// 16-byte aligned: the buffers are 128-byte aligned and ldk = rows_k + 8 with rows_k a
/// multiple of 16; the padding also keeps an ldmatrix phase's 8 rows on 8 different
/// 4-bank groups.
XBARMC_SIMT void load_a(const __half* Bh, const __half* Bl, int ldk, int m0, int ks, int lane, std::uint32_t (&ah)[4],
                        std::uint32_t (&al)[4]) {
  const warp::RowCol e = warp::a_ldmatrix_row(lane);
  const int idx = (m0 + e.row) * ldk + ks * 16 + e.col;
  simt::ldmatrix_x4(ah, Bh + idx);
  simt::ldmatrix_x4(al, Bl + idx);
}

/// The DAC codes of a pass's 16 read slots as mma B fragments of the k-steps below nks
/// (0 beyond, and for inactive slots): for n8 fragment f, `slot(f)` says where this
/// lane's slot reads its packed magnitudes (its vector and phase, row pairs from the
/// chunk's first row), at which step, and whether it holds a read. Bit-serial codes
/// (dac_bits 1) take a branch outside the loops, so that the compiler does not compute
/// both words and select one (the profile of 2026-11-27 counted the wide path's 16
/// conversions in every bit-serial pass): 0 or 1 in each half, as f16 0 or 0x3C00 by one
/// multiply, without the conversion unit; wider codes through float.
struct SlotCodes {
  const std::uint32_t* mags;  // the packed magnitudes of the slot's vector and phase
  int step;
  bool active;
};
template <int kKSteps, class Slot>
XBARMC_SIMT void fill_b_fragments(std::uint32_t (&bf)[warp::kFrags][kKSteps][2], const Slot& slot, int nks, int lane,
                                  int dac_bits) {
  const auto fill = [&](auto serial) {
    constexpr bool kSerial = decltype(serial)::value;
    XBARMC_UNROLL
    for (int f = 0; f < warp::kFrags; ++f) {
      const SlotCodes sc = slot(f);  // (decoded here, next to its use: fewer live registers)
      XBARMC_UNROLL
      for (int ks = 0; ks < kKSteps; ++ks) {
        XBARMC_UNROLL
        for (int r = 0; r < 2; ++r) {
          std::uint32_t word = 0u;
          if (ks < nks && sc.active) {  // the DAC codes of rows k and k + 1 (k even)
            const std::uint32_t c = warp::code_pair(sc.mags[(ks * 16 + warp::b_register(lane, r).row) / 2], sc.step,
                                                    kSerial ? 1 : dac_bits);
            if constexpr (kSerial) {
              word = c * 0x3C00u;
            } else {
              word = pack_half2(static_cast<float>(c & 0xFFFFu), static_cast<float>(c >> 16));
            }
          }
          bf[f][ks][r] = word;
        }
      }
    }
  };
  if (dac_bits == 1) {
    fill(std::true_type{});
  } else {
    fill(std::false_type{});
  }
}

/// One k-step of a 16-column fragment's products: the levels' A operands (load_a, into ah
/// and al, which the read-noise variance reuses) times the B fragments of step ks, hi
/// then lo, onto the accumulators.
template <int kKSteps>
XBARMC_SIMT void level_products(float (&acc)[warp::kFrags][4], const std::uint32_t (&bf)[warp::kFrags][kKSteps][2],
                                int ks, const __half* Bh, const __half* Bl, int ldk, int m0, int lane,
                                std::uint32_t (&ah)[4], std::uint32_t (&al)[4]) {
  load_a(Bh, Bl, ldk, m0, ks, lane, ah, al);
  XBARMC_UNROLL
  for (int f = 0; f < warp::kFrags; ++f) {
    simt::mma_16816(acc[f], ah, bf[f][ks][0], bf[f][ks][1]);
    simt::mma_16816(acc[f], al, bf[f][ks][0], bf[f][ks][1]);
  }
}

/// step(ks) for the k-steps ks < nks of a tile, in order. On the narrow and tall variants
/// a tile of the variant's full height (nks == kKSteps: every 128-row tile on the narrow
/// variant) takes them without a test and a branch per step, so that the compiler may
/// issue a step's ldmatrix among the previous step's mma (the SASS of the other path
/// waits for each step's loads).
template <int kKSteps, class Step>
XBARMC_SIMT void for_k_steps(int nks, const Step& step) {
  if (kKSteps > warp::kShortKSteps && nks == kKSteps) {  // (the short variant's 2 steps: predicated)
    XBARMC_UNROLL
    for (int ks = 0; ks < kKSteps; ++ks) step(ks);
  } else {
    XBARMC_UNROLL
    for (int ks = 0; ks < kKSteps; ++ks) {
      if (ks >= nks) break;
      step(ks);
    }
  }
}

/// The register shift-add's sums over a vector's reads (warp::exact_shift_add): r holds
/// this lane's weighted ADC codes per [fragment][row half][slot of the lane's pair]; adds
/// the pair, then across the quad's lanes (two shfl_xor) and over the two fragments, as
/// far as a vector's reads_p slots span. Afterwards a vector's first slot holds its sum.
/// Every shuffle runs, its value kept or not by a select: a shuffle behind a branch on
/// rpp cost two more instructions each (branch and divergence check).
XBARMC_SIMT void quad_shift_add(int (&r)[warp::kFrags][2][2], int rpp) {
  XBARMC_UNROLL
  for (int f = 0; f < warp::kFrags; ++f) {
    XBARMC_UNROLL
    for (int h = 0; h < 2; ++h) {
      if (rpp >= 2) r[f][h][0] += r[f][h][1];
      const int s1 = simt::shfl_xor(r[f][h][0], 1);
      r[f][h][0] += rpp >= 4 ? s1 : 0;
      const int s2 = simt::shfl_xor(r[f][h][0], 2);
      r[f][h][0] += rpp >= 8 ? s2 : 0;
    }
  }
  XBARMC_UNROLL
  for (int h = 0; h < 2; ++h) {
    if (rpp >= 16) r[0][h][0] += r[1][h][0];
  }
}

/// The warp kernel's body for one thread (the __global__ wrapper is in crossbar_warp.cu;
/// tests/simt/ runs it on the CPU emulator of simt.hpp). kNoise: read noise (DAC codes of
/// up to detail::kNoiseMaxDacBits bits), as the CPU backend draws it
/// (physics/read_noise.hpp): per read and column, sigma = read_noise sqrt(sum_r d_r^2
/// (G[r][c] / dG)^2), the variance a second tensor-core product of the squared DAC codes
/// (the codes themselves when bit-serial: d^2 = d) with the cells' (G / dG)^2, one normal
/// per (vector, phase, step, column). kKSteps: 16-row mma steps a row chunk may have (8:
/// up to 128 rows; 16: up to 256). A tile read over more rows than one chunk (w.rows_k <
/// p.rows_p: more than 256 rows, warp_row_chunks) is read chunk by chunk: the block loads
/// a chunk's levels, every warp adds the chunk's products to its pass's pre-ADC column
/// sums, kept in its shared region (`part`) between chunks, and after the last chunk
/// digitizes them. The sums take the mma steps in the same k order either way, so the
/// chunks change no result.
template <bool kNoise, int kKSteps>
XBARMC_SIMT void warp_crossbar_body(const LayerParams& p, const WarpSmem& w, const warp::ReadPlan& rp,
                                    unsigned char* smem) {
  const WarpBuffers b = warp_buffers(smem, w);
  __half *const Bh = b.Bh, *const Bl = b.Bl;
  int4* const rowinfo = b.rowinfo;
  float* const inv_s = b.inv_s;
  double *const step_d = b.step_d, *const Y = b.Y, *const red = b.red;
  long long* const Q = b.Q;
  float* const step_s = b.step_s;

  const int tid = simt::thread_x(), warp_id = tid / 32, lane = tid % 32;
  unsigned char* region = smem + w.warp0 + warp_id * w.warp_bytes;
  // [vectors][phases][rows_k / 2] phase magnitudes of the input codes, two rows per word
  std::int32_t* Cw = reinterpret_cast<std::int32_t*>(region + w.s);
  float* Sw = reinterpret_cast<float*>(region + w.stage);    // staged ADC outputs (aliasing Cw: 1 group)
  double* COLw = reinterpret_cast<double*>(region + w.col);  // [vectors][cols_p] digitized columns
  float* Pw = reinterpret_cast<float*>(region + w.part);     // row chunks: [2][cols_p / 16][kFrags][4][32]

  const int ldk = w.ldk, rk = w.rows_k, nmf = p.cols_p / 16, ml = p.max_logical;
  const int n_chunks = (p.rows_p + rk - 1) / rk;
  const int vp = rp.vectors;
  const std::int64_t first = simt::block_x() * p.items_per_block;
  const std::int64_t last = p.items < first + p.items_per_block ? p.items : first + p.items_per_block;
  std::int64_t loaded_b = -1;  // (trial, tile, window, chunk) whose levels are in shared memory

  for (std::int64_t item = first; item < last; ++item) {
    const Item it = item_of(p, item);
    const int ct = it.ct, t = it.t, nv = it.nv, mt = it.mt;
    const std::int64_t v0 = it.v0;
    const WindowColumns wc = window_columns(p, ct);
    const std::int32_t *const start = wc.start, *const cols = wc.cols;
    const double* const wcol = wc.wcol;
    const int col0 = p.win_col0[ct];  // the window's first column in its tile
    for (int i = tid; i < nv * ml; i += kThreads) Y[i] = 0.0;
    for (int i = tid; i < nv; i += kThreads) Q[i] = 0;

    for (int rt = 0; rt < p.n_row_tiles; ++rt) {
      const int tile = rt * p.tile_cols + p.win_tile[ct];
      const std::int64_t chip = static_cast<std::int64_t>(t) * p.tiles + tile;
      for (int chunk = 0; chunk < n_chunks; ++chunk) {
        const int r0 = chunk * rk, cr = p.rows_p - r0 < rk ? p.rows_p - r0 : rk;  // the chunk's rows
        // mma k-steps up to the tile's last row holding an input (rows past it have input
        // codes 0, whose products add nothing): LeNet-5's conv2 reads its second row tile
        // (22 of 128 rows) in 2 k-steps rather than 8.
        const int used = p.tile_rows[tile] - r0;
        const int nks = (used < cr ? (used > 0 ? used : 0) : cr) / 16;
        const bool last_chunk = chunk == n_chunks - 1;
        simt::sync_block();  // every reader of the previous chunk's buffers is done
        const std::int64_t key = (chip * p.n_col_tiles + ct) * n_chunks + chunk;  // (trial, tile, window, chunk)
        if (key != loaded_b) {
          load_levels(p, chip, col0, r0, cr, ldk, tid, Bh, Bl);
          loaded_b = key;
        }
        load_tile_setup(p, b, tile, col0, r0, cr, last_chunk, tid);
        simt::sync_block();

        const int groups = (nv + vp - 1) / vp;  // read in chunks: at most one per warp (warp_chunking)
        for (int gi = warp_id; gi < groups; gi += kWarps) {
          const int vb = gi * vp;
          // 1. Inputs of the pass's vectors (every gather in flight at once), their codes:
          // each lane takes row pairs (2 j, 2 j + 1), and stores per pair and phase the two
          // rows' magnitudes in one word, 16 bits each (input_bits <= 16), so that a B
          // register's two DAC codes come from one load (step 2).
          constexpr int kPairsPerLane = (kKSteps + 3) / 4;  // 8 kKSteps row pairs over 32 lanes
          float xs[warp::kMaxVectorsPerPass][kPairsPerLane][2];
          XBARMC_UNROLL
          for (int vi = 0; vi < warp::kMaxVectorsPerPass; ++vi) {
            if (vi >= vp) break;  // (a plan's vectors per pass: no site for slots it leaves empty)
            const int v = vb + vi;
            const bool live = v < nv;
            const VectorSite site = vector_site(p, t, live ? v0 + v : v0);
            XBARMC_UNROLL
            for (int u = 0; u < kPairsPerLane; ++u) {
              const int r = 2 * (lane + 32 * u);  // (cr is a multiple of 16: r + 1 < cr too)
              XBARMC_UNROLL
              for (int h = 0; h < 2; ++h) xs[vi][u][h] = live && r < cr ? gather_row(p, site, rowinfo[r + h]) : 0.0f;
            }
          }
          XBARMC_UNROLL
          for (int vi = 0; vi < warp::kMaxVectorsPerPass; ++vi) {
            if (vi >= vp) break;
            int qsum = 0;
            XBARMC_UNROLL
            for (int u = 0; u < kPairsPerLane; ++u) {
              const int r = 2 * (lane + 32 * u);
              if (r >= cr) continue;
              int q[2];
              XBARMC_UNROLL
              for (int h = 0; h < 2; ++h) {
                q[h] = rowinfo[r + h].x >= 0 && vb + vi < nv ? p.xq.quantize(xs[vi][u][h]) : 0;
                qsum += q[h];
              }
              for (int ph = 0; ph < p.phases; ++ph)
                Cw[(vi * p.phases + ph) * (rk / 2) + r / 2] =
                    static_cast<std::int32_t>(warp::pack_magnitudes(q[0], q[1], ph));
            }
            if (p.weight_offset != 0) {
              for (int o = 16; o > 0; o /= 2) qsum += simt::shfl_xor(qsum, o);
              if (lane == 0 && vb + vi < nv) Q[vb + vi] += qsum;
            }
          }
          simt::sync_warp();
          // 2.-3. Per read group (one, or one per phase of long signed inputs): the DAC
          // codes as B fragments, the products, the ADC and the shift-add onto the columns.
          for (int grp = 0; grp < rp.groups; ++grp) {
            const int read0 = grp * rp.reads;  // the group's first read
            // 2. The DAC codes of the 16 read slots, as B fragments of every 16-row step.
            std::uint32_t bf[warp::kFrags][kKSteps][2];
            fill_b_fragments<kKSteps>(
                bf,
                [&](int f) {
                  const warp::SlotDac sd = warp::slot_dac(rp, f * 8 + (lane >> 2), read0, p.steps);
                  return SlotCodes{reinterpret_cast<const std::uint32_t*>(Cw) +
                                       (sd.active ? sd.vector * p.phases + sd.ps.phase : 0) * (rk / 2),
                                   sd.ps.step, sd.active};
                },
                nks, lane, p.dac_bits);
            simt::sync_warp();  // the codes are read: the staging area (aliasing them) takes the ADC outputs
            // For the integer shift-add in registers (p.exact_shift_add), per read slot of
            // this lane's accumulator columns: its shift-add weight, and the vector whose
            // column it writes (the vector of which it is the first slot, else -1), once per
            // pass rather than per fragment. Vectors past the item's end have input codes 0,
            // so their columns add up to 0.
            int wt[warp::kFrags][2], writes[warp::kFrags][2];
            XBARMC_UNROLL
            for (int f = 0; f < warp::kFrags; ++f) {
              XBARMC_UNROLL
              for (int j = 0; j < 2; ++j) {
                const int n = f * 8 + (lane & 3) * 2 + j;
                wt[f][j] = warp::slot_weight(rp, n, grp, p.steps, p.dac_bits);
                const warp::Slot s = warp::slot_of(rp, n);
                writes[f][j] = s.active && s.read == 0 ? s.vector : -1;
              }
            }
            // 3. Per 16-column fragment: product, ADC, shift-add over each vector's reads.
            for (int mf = 0; mf < nmf; ++mf) {
              const int m0 = mf * 16;
              float acc[warp::kFrags][4], var[warp::kFrags][4];
              // this lane's sums of fragment mf for the group (and their variances after them)
              float* part = Pw + (grp * (kNoise ? 2 : 1) * nmf + mf) * warp::kFrags * 4 * 32 + lane;
              float* part_var = part + nmf * warp::kFrags * 4 * 32;
              // The short variant's tiles (<= 32 rows) are one row chunk: no earlier sums
              // to load (the compiler had issued the 8 loads predicated off in every pass).
              const bool earlier = kKSteps != warp::kShortKSteps && chunk > 0;
              XBARMC_UNROLL
              for (int f = 0; f < warp::kFrags; ++f) {
                XBARMC_UNROLL
                for (int i = 0; i < 4; ++i) {
                  acc[f][i] = earlier ? part[(f * 4 + i) * 32] : 0.0f;
                  var[f][i] = kNoise && earlier ? part_var[(f * 4 + i) * 32] : 0.0f;
                }
              }
              for_k_steps<kKSteps>(nks, [&](int ks) {
                std::uint32_t ah[4], al[4];
                level_products(acc, bf, ks, Bh, Bl, ldk, m0, lane, ah, al);
                if (kNoise) {
                  std::uint32_t gh[4], gl[4];
                  XBARMC_UNROLL
                  for (int r = 0; r < 4; ++r) gain_fragment(ah[r], al[r], p.gmin_dg, gh[r], gl[r]);
                  XBARMC_UNROLL
                  for (int f = 0; f < warp::kFrags; ++f) {
                    std::uint32_t b0 = bf[f][ks][0], b1 = bf[f][ks][1], b0l = 0, b1l = 0;
                    if (p.dac_bits > 1) {
                      square_half2(bf[f][ks][0], b0, b0l);
                      square_half2(bf[f][ks][1], b1, b1l);
                    }
                    simt::mma_16816(var[f], gh, b0, b1);
                    simt::mma_16816(var[f], gl, b0, b1);
                    if (p.dac_bits > kNoiseOnePartDacBits) {  // squares above 2^11: their lo parts too
                      simt::mma_16816(var[f], gh, b0l, b1l);
                      simt::mma_16816(var[f], gl, b0l, b1l);
                    }
                  }
                }
              });
              // The sums so far wait in the warp's region for the next chunk (the short
              // variant's tiles are one chunk).
              if (kKSteps != warp::kShortKSteps && !last_chunk) {
                XBARMC_UNROLL
                for (int f = 0; f < warp::kFrags; ++f) {
                  XBARMC_UNROLL
                  for (int i = 0; i < 4; ++i) {
                    part[(f * 4 + i) * 32] = acc[f][i];
                    if (kNoise) part_var[(f * 4 + i) * 32] = var[f][i];
                  }
                }
                continue;
              }
              // The column signals: the accumulators, plus the read noise of each active slot.
              float sig[warp::kFrags][4];
              XBARMC_UNROLL
              for (int f = 0; f < warp::kFrags; ++f) {
                XBARMC_UNROLL
                for (int i = 0; i < 4; ++i) {
                  const warp::RowCol e = warp::c_element(lane, i);
                  const int m = m0 + e.row;
                  sig[f][i] = acc[f][i];
                  if (kNoise && var[f][i] != 0.0f) {
                    const warp::Slot sl = warp::slot_of(rp, f * 8 + e.col);
                    if (sl.active && vb + sl.vector < nv) {
                      const auto vector_index = static_cast<std::uint32_t>(p.vector_base + v0 + vb + sl.vector);
                      const warp::PhaseStep ps = warp::phase_step(read0 + sl.read, p.steps);
                      sig[f][i] += p.read_noise * sqrtf(var[f][i]) *
                                   physics::read_noise_z(p.seed, p.trial0 + static_cast<std::uint32_t>(t), p.layer_id,
                                                         static_cast<std::uint32_t>(tile), vector_index, ps.phase,
                                                         ps.step, p.steps, p.hw_cols, col0 + m);
                    }
                  }
                }
              }
              if (p.exact_shift_add) {
                // Integer codes with exact sums (warp::exact_shift_add): each vector's
                // weighted codes added in registers, over the lane's two slots, then
                // across the quad's lanes and the fragments its reads span; the lane
                // holding the vector's first slot writes the column.
                // The ADC's integer codes without float-to-integer conversions
                // (physics::adc_code_int, equal to adc_code).
                int r[warp::kFrags][2][2];  // [fragment][row half][slot of the pair]
                XBARMC_UNROLL
                for (int f = 0; f < warp::kFrags; ++f) {
                  XBARMC_UNROLL
                  for (int i = 0; i < 4; ++i) {
                    const float inv = inv_s[m0 + warp::c_element(lane, i).row];
                    r[f][i >> 1][i & 1] = physics::adc_code_int(sig[f][i], inv, p.adc_bits) * wt[f][i & 1];
                  }
                }
                quad_shift_add(r, rp.reads_p);
                XBARMC_UNROLL
                for (int f = 0; f < warp::kFrags; ++f) {
                  XBARMC_UNROLL
                  for (int j = 0; j < 2; ++j) {
                    const int vi = writes[f][j];
                    if (vi < 0) continue;  // not a vector's first slot
                    XBARMC_UNROLL
                    for (int h = 0; h < 2; ++h) {
                      const int m = m0 + (lane >> 2) + 8 * h;
                      const double term = warp::int_to_double(r[f][h][j]) * step_d[m];  // exact
                      double& column = COLw[vi * p.cols_p + m];
                      column = grp == 0 ? term : column + term;
                    }
                  }
                }
                continue;
              }
              XBARMC_UNROLL
              for (int f = 0; f < warp::kFrags; ++f) {
                XBARMC_UNROLL
                for (int i = 0; i < 4; ++i) {
                  const float inv = inv_s[m0 + warp::c_element(lane, i).row];
                  Sw[warp::staged_index(f, i, lane)] = physics::adc_output(sig[f][i], inv, p.adc_bits);
                }
              }
              simt::sync_warp();
              for (int u = lane; u < vp * 16; u += 32) {
                const int vi = u / 16, c = u % 16;
                const auto out = [&](int read) { return Sw[warp::staged_output(rp, vi, read, c)]; };
                double& column = COLw[vi * p.cols_p + m0 + c];
                if (rp.groups == 1) {
                  column = physics::shift_add_column(out, p.phases, p.steps, p.dac_bits, p.float_acc, step_s[m0 + c]);
                } else {  // group grp is phase grp: its term onto the column, phases in order
                  column = (grp == 0 ? 0.0 : column) +
                           physics::shift_add_phase(out, grp, p.steps, p.dac_bits, p.float_acc, step_s[m0 + c]);
                }
              }
              simt::sync_warp();
            }
          }
          if (last_chunk) {
            simt::sync_warp();  // every lane's columns are written
            // 4. Physical columns into the logical outputs, ascending, as the CPU.
            for (int u = lane; u < vp * mt; u += 32) {
              const int vi = u / mt, j = u % mt, v = vb + vi;
              if (v >= nv) continue;
              double y = Y[v * ml + j];
              for (int e = start[j]; e < start[j + 1]; ++e) y += wcol[e] * COLw[vi * p.cols_p + cols[e]];
              Y[v * ml + j] = y;
            }
          }
          simt::sync_warp();  // the warp's staging is free for its next pass
        }
      }
    }
    simt::sync_block();
    finish_item<kThreads>(p, it, item, Y, Q, red);
  }
}

/// The batched body (XBARMC_CUDA_BATCH=on) of the short, narrow and tall variants (kKSteps
/// 2, 8 or 16: tiles read over at most 32, 128 or 256 rows, one row chunk), without read
/// noise, one read group, the register shift-add (p.exact_shift_add). It computes what
/// warp_crossbar_body computes on the same chunks, in the same arithmetic and order, so
/// the same bits (tests/simt/ compares them on every case it applies to); it organizes a
/// warp's work in batches of w.batch vectors (warp_batch_smem) rather than in passes of
/// one to four:
///   1. gather + quantize: each lane takes one vector of the batch (and a share of its
///      rows, 32 / batch lanes per vector), so a vector's site is decoded once and the
///      gathers of consecutive positions load neighbouring inputs;
///   2. per pass (rp.vectors vectors of the batch): the B fragments from the staged codes,
///      the products, the ADC and the shift-add in registers, as in warp_crossbar_body,
///      each vector's column sums kept as integers (exact: warp::exact_shift_add);
///   3. the batch's physical columns into its logical outputs in the CPU's order, over all
///      32 lanes (one pass had 6 of 32 busy on LeNet-5's conv1); where the whole batch's
///      column sums do not fit (w.col_vectors < w.batch: signed inputs on 128-row tiles,
///      first convolutions on 128-column windows), after each pass, for its vectors.
/// What a lane's read slots are (their vector within the pass, phase, step, weight, and
/// which vector's columns the lane writes) is the same in every pass of the launch and is
/// decoded once, before the first item. kReadsP: rp.reads_p when compiled for it (16:
/// signed 8-bit inputs, bit-serial; 8: unsigned), so that the shift-add's selects and
/// which slots write a column are known at compile time; 0 for any (read at run time).
template <int kKSteps, int kReadsP = 0, bool kHalves = false>
XBARMC_SIMT void warp_batch_body(const LayerParams& p, const WarpSmem& w, const warp::ReadPlan& rp,
                                 unsigned char* smem) {
  static_assert(kKSteps == warp::kShortKSteps || kKSteps == warp::kMaxKSteps || kKSteps == warp::kMaxKStepsTall,
                "the short, narrow or tall variant");
  static_assert(kReadsP == 0 || kReadsP == 8 || kReadsP == 16, "reads_p compiled for: 8, 16, or 0 for any");
  static_assert(!kHalves || kReadsP == 16, "zero phases are skipped on 16 read slots");
  const int rpp = kReadsP > 0 ? kReadsP : rp.reads_p;
  const WarpBuffers b = warp_buffers(smem, w);
  __half *const Bh = b.Bh, *const Bl = b.Bl;
  int4* const rowinfo = b.rowinfo;
  float* const inv_s = b.inv_s;
  double *const step_d = b.step_d, *const Y = b.Y, *const red = b.red;
  long long* const Q = b.Q;

  const int tid = simt::thread_x(), warp_id = tid / 32, lane = tid % 32;
  unsigned char* region = smem + w.warp0 + warp_id * w.warp_bytes;
  // [batch][cstride]: per vector and phase, rows_p / 2 words of two rows' magnitudes
  std::uint32_t* Cw = reinterpret_cast<std::uint32_t*>(region + w.s);
  // [col_vectors][cols_p] column sums / ADC step: the batch's vectors, or the pass's (per_pass)
  std::int32_t* COLi = reinterpret_cast<std::int32_t*>(region + w.col);

  const int ldk = w.ldk, half_rows = w.rows_k / 2, nmf = p.cols_p / 16, ml = p.max_logical;
  const int nb = w.batch, cst = w.cstride, vp = rp.vectors;
  const bool per_pass = w.col_vectors < nb;  // column sums folded into the outputs after each pass
  const int lane_v = lane & (nb - 1), parts = 32 / nb, part = lane / nb;  // gather: the lane's vector, row share
  // kHalves: zero phases are skipped (warp_batch_halves: signed inputs of two phases of at
  // most 8 steps on 16 read slots, the batch's column sums kept). A phase whose DAC codes
  // are all 0 over a vector's rows drives no current, so its reads' signals, ADC codes and
  // shift-add terms are exactly 0, and a pass need not read it. Each n8 fragment then
  // reads one (vector, phase) of the batch, its slot s step s (no read for s >= steps) with
  // the weight of phase 0, +2^(s dac_bits): a vector whose phases both hold a code reads
  // them in one pass, fragment f phase f, and writes the first fragment's sums less the
  // second's; two vectors with one such phase each share a pass, each fragment writing its
  // vector's sums, which the fold negates for a vector of phase 1 only. Every read that is
  // not all zero runs on the same rows in the same k order (an mma's element does not
  // depend on its slot), and the column sums are exact integers (warp::exact_shift_add),
  // the same in any order of the reads, so the bits are those of reading every phase.

  // The lane's read slots, the same in every pass: per B fragment, where its slot's codes
  // start within the pass's codes (its vector and phase) and its step's shift; per
  // accumulator column, its shift-add weight and the vector whose column it writes.
  int b_word[warp::kFrags], b_step[warp::kFrags];
  bool b_active[warp::kFrags];
  warp::SlotWeight wt[warp::kFrags][2];
  int writes[warp::kFrags][2];
  XBARMC_UNROLL
  for (int f = 0; f < warp::kFrags; ++f) {
    if constexpr (kHalves) {  // fragment f: the pass gives its vector and phase; slot f * 8 + s reads step s
      const int s = lane >> 2;
      b_active[f] = s < p.steps;
      b_word[f] = 0;
      b_step[f] = s;
      XBARMC_UNROLL
      for (int j = 0; j < 2; ++j) {
        const int st = (lane & 3) * 2 + j;
        wt[f][j] = warp::slot_weight_bits(st < p.steps ? static_cast<int>(physics::step_weight(0, st, p.dac_bits)) : 0);
        writes[f][j] = st == 0 ? 0 : -1;
      }
      continue;
    }
    const warp::SlotDac sd = warp::slot_dac(rp, f * 8 + (lane >> 2), 0, p.steps);
    b_active[f] = sd.active;
    b_word[f] = sd.active ? sd.vector * cst + sd.ps.phase * half_rows : 0;
    b_step[f] = sd.ps.step;
    XBARMC_UNROLL
    for (int j = 0; j < 2; ++j) {
      const int n = f * 8 + (lane & 3) * 2 + j;
      wt[f][j] = warp::slot_weight_bits(warp::slot_weight(rp, n, 0, p.steps, p.dac_bits));
      if constexpr (kReadsP > 0) {  // slot n: read n % kReadsP of vector n / kReadsP < 16 / kReadsP; read 0
        writes[f][j] = (n & (kReadsP - 1)) == 0 ? n / kReadsP : -1;  // of a vector always holds a read
      } else {
        const warp::Slot sl = warp::slot_of(rp, n);
        writes[f][j] = sl.active && sl.read == 0 ? sl.vector : -1;
      }
    }
  }
  const float adc_top = static_cast<float>((1u << p.adc_bits) - 1u);

  const std::int64_t first = simt::block_x() * p.items_per_block;
  const std::int64_t last = p.items < first + p.items_per_block ? p.items : first + p.items_per_block;
  std::int64_t loaded_b = -1;  // (trial, tile, window) whose levels are in shared memory

  for (std::int64_t item = first; item < last; ++item) {
    const Item it = item_of(p, item);
    const int ct = it.ct, t = it.t, nv = it.nv, mt = it.mt;
    const std::int64_t v0 = it.v0;
    const WindowColumns wc = window_columns(p, ct);
    const std::int32_t *const start = wc.start, *const cols = wc.cols;
    const double* const wcol = wc.wcol;
    const int col0 = p.win_col0[ct];
    for (int i = tid; i < nv * ml; i += kThreads) Y[i] = 0.0;
    for (int i = tid; i < nv; i += kThreads) Q[i] = 0;
    // Step 3's walk over (vector, logical column) pairs, lane + 32 k, without divisions
    // in the loop (md: mt, or 1 for a window without logical columns, which has no pairs).
    const int md = mt > 0 ? mt : 1;
    const int u_vec0 = lane / md, u_col0 = lane - u_vec0 * md, u_dvec = 32 / md, u_dcol = 32 - u_dvec * md;

    for (int rt = 0; rt < p.n_row_tiles; ++rt) {
      const int tile = rt * p.tile_cols + p.win_tile[ct];
      const std::int64_t chip = static_cast<std::int64_t>(t) * p.tiles + tile;
      const int nks = (p.tile_rows[tile] < p.rows_p ? p.tile_rows[tile] : p.rows_p) / 16;
      simt::sync_block();                                  // every reader of the previous row tile's buffers is done
      const std::int64_t key = chip * p.n_col_tiles + ct;  // (trial, tile, window)
      if (key != loaded_b) {
        load_levels(p, chip, col0, 0, p.rows_p, ldk, tid, Bh, Bl);
        loaded_b = key;
      }
      load_tile_setup(p, b, tile, col0, 0, p.rows_p, true, tid);
      simt::sync_block();

      for (int vb = warp_id * nb; vb < nv; vb += kWarps * nb) {
        const int nbv = nv - vb < nb ? nv - vb : nb;  // the batch's vectors in the item
        std::uint32_t any0 = 0u, any1 = 0u;           // kHalves: bit v, vector v has a code in phase 0 / 1
        // 1. The batch's input codes: lane (lane_v, part) gathers rows 2 j and 2 j + 1 of
        // vector vb + lane_v for j = part, part + parts, ... (rows past the tile's last
        // input have codes 0 and are not read by step 2). Vectors past the item's end get
        // codes 0.
        {
          const bool live = lane_v < nbv;
          const VectorSite site = vector_site(p, t, live ? v0 + vb + lane_v : v0);
          std::uint32_t* cv = Cw + lane_v * cst;
          int qsum = 0;
          for (int j = part; j < nks * 8; j += parts) {
            const int r = 2 * j;
            const int4 ri0 = rowinfo[r], ri1 = rowinfo[r + 1];
            const float x0 = live ? gather_row(p, site, ri0) : 0.0f;
            const float x1 = live ? gather_row(p, site, ri1) : 0.0f;
            const int q0 = ri0.x >= 0 && live ? p.xq.quantize(x0) : 0;
            const int q1 = ri1.x >= 0 && live ? p.xq.quantize(x1) : 0;
            qsum += q0 + q1;
            for (int ph = 0; ph < p.phases; ++ph) cv[ph * half_rows + j] = warp::pack_magnitudes(q0, q1, ph);
            if constexpr (kHalves) {  // (the same magnitudes; the compiler shares them)
              any0 |= warp::pack_magnitudes(q0, q1, 0);
              any1 |= warp::pack_magnitudes(q0, q1, 1);
            }
          }
          if constexpr (kHalves) {  // over the vector's lanes, then one bit per vector (lane v < nb: vector v)
            for (int o = 16; o >= nb; o /= 2) {
              any0 |= simt::shfl_xor(any0, o);
              any1 |= simt::shfl_xor(any1, o);
            }
            const bool mine = lane < nb && live;
            any0 = simt::ballot(mine && any0 != 0u);
            any1 = simt::ballot(mine && any1 != 0u);
          }
          if (p.weight_offset != 0) {
            for (int o = 16; o >= nb; o /= 2) qsum += simt::shfl_xor(qsum, o);
            if (part == 0 && live) Q[vb + lane_v] += qsum;
          }
        }
        simt::sync_warp();
        if constexpr (kHalves) {  // vectors with no code in either phase: no pass; their column sums are 0
          for (std::uint32_t z = ((2u << (nbv - 1)) - 1u) & ~(any0 | any1); z != 0u; z &= z - 1u) {
            std::int32_t* const col = COLi + simt::lowest_bit(z) * p.cols_p;
            for (int c = lane; c < p.cols_p; c += 32) col[c] = 0;
          }
        }
        // 3. (After step 2's passes, or after each one.) The column sums of the batch's
        // vectors v_first..v_first + count - 1 (rows 0.. of COLi) into their logical
        // outputs, ascending, as the CPU: the column is its sum x ADC step (exact in
        // double), as warp_crossbar_body stages it (kHalves: negated for the vectors whose
        // only phase with a code is phase 1).
        const std::uint32_t negated = any1 & ~any0;
        const auto fold = [&](int v_first, int count) {
          for (int u = lane, vi = u_vec0, j = u_col0; u < count * mt; u += 32) {
            const int v = vb + v_first + vi;
            const bool neg = kHalves && ((negated >> vi) & 1u) != 0u;
            double y = Y[v * ml + j];
            for (int e = start[j]; e < start[j + 1]; ++e) {
              const int c = cols[e];
              const std::int32_t sum = COLi[vi * p.cols_p + c];
              const double column = warp::int_to_double(neg ? -sum : sum) * step_d[c];
              y += wcol[e] * column;
            }
            Y[v * ml + j] = y;
            vi += u_dvec;
            j += u_dcol;
            if (j >= mt) {
              j -= mt;
              ++vi;
            }
          }
        };
        // 2. Per pass of vp vectors (kHalves: one vector's two phases, or two vectors' one
        // each): the products, the ADC, the shift-add in registers.
        std::uint32_t both = any0 & any1, single = any0 ^ any1;  // kHalves: left to read (two phases, one)
        for (int pv = 0;; pv += vp) {
          // Per fragment: where its codes start (word offset in the batch's codes), whether
          // it reads and the column-sum row it writes; join: the two fragments' sums are
          // added (one vector's reads span both; kHalves: the second's subtracted).
          int off[warp::kFrags], row[warp::kFrags];
          bool reads[warp::kFrags], join;
          if constexpr (kHalves) {
            if ((both | single) == 0u) break;
            join = both != 0u;
            const int vj = join ? simt::lowest_bit(both) : 0;
            if (join) both &= both - 1u;
            XBARMC_UNROLL
            for (int f = 0; f < warp::kFrags; ++f) {
              int v = vj, ph = f;
              if (!join) {  // the next vector with one phase (its phase: any1's bit), or none
                v = single != 0u ? simt::lowest_bit(single) : -1;
                single &= single - 1u;
                ph = v < 0 ? 0 : static_cast<int>((any1 >> v) & 1u);
              }
              reads[f] = v >= 0;
              row[f] = v < 0 ? 0 : v;
              off[f] = row[f] * cst + ph * half_rows;
            }
          } else {
            if (pv >= nbv) break;
            join = rpp >= 16;
            XBARMC_UNROLL
            for (int f = 0; f < warp::kFrags; ++f) {
              reads[f] = true;
              off[f] = pv * cst;
              row[f] = per_pass ? 0 : pv;  // the batch's vector pv + w at row pv + w, or w when folded per pass
            }
          }
          std::uint32_t bf[warp::kFrags][kKSteps][2];
          fill_b_fragments<kKSteps>(
              bf,
              [&](int f) {
                return SlotCodes{Cw + off[f] + b_word[f], b_step[f], b_active[f] && reads[f]};
              },
              nks, lane, p.dac_bits);
          // Where this lane writes column sums in this pass (per accumulator column that is
          // a vector's first slot): the vector's sums at column lane / 4 of the fragment.
          std::int32_t* col_at[warp::kFrags][2];
          XBARMC_UNROLL
          for (int f = 0; f < warp::kFrags; ++f) {
            XBARMC_UNROLL
            for (int j = 0; j < 2; ++j)
              col_at[f][j] = COLi + (row[f] + (writes[f][j] < 0 ? 0 : writes[f][j])) * p.cols_p + (lane >> 2);
          }
          for (int mf = 0; mf < nmf; ++mf) {
            const int m0 = mf * 16;
            float acc[warp::kFrags][4];
            XBARMC_UNROLL
            for (int f = 0; f < warp::kFrags; ++f) {
              XBARMC_UNROLL
              for (int i = 0; i < 4; ++i) acc[f][i] = 0.0f;
            }
            for_k_steps<kKSteps>(nks, [&](int ks) {
              std::uint32_t ah[4], al[4];
              level_products(acc, bf, ks, Bh, Bl, ldk, m0, lane, ah, al);
            });
            // The ADC's integer codes (physics::adc_code_int), weighted
            // (warp::weighted_adc_code); accumulator elements i and i + 1 share a row
            // (warp::c_element): two 1 / step per lane.
            const float inv[2] = {inv_s[m0 + (lane >> 2)], inv_s[m0 + (lane >> 2) + 8]};
            int r[warp::kFrags][2][2];  // [fragment][row half][slot of the pair]
            XBARMC_UNROLL
            for (int f = 0; f < warp::kFrags; ++f) {
              XBARMC_UNROLL
              for (int i = 0; i < 4; ++i)
                r[f][i >> 1][i & 1] = warp::weighted_adc_code(acc[f][i], inv[i >> 1], adc_top, wt[f][i & 1]);
            }
            quad_shift_add(r, rpp < 16 ? rpp : 8);
            XBARMC_UNROLL
            for (int h = 0; h < 2; ++h) {
              if (join) r[0][h][0] += kHalves ? -r[1][h][0] : r[1][h][0];
            }
            XBARMC_UNROLL
            for (int f = 0; f < warp::kFrags; ++f) {
              XBARMC_UNROLL
              for (int j = 0; j < 2; ++j) {
                if (writes[f][j] < 0 || !reads[f] || (f == 1 && join)) continue;  // not a vector's first slot
                col_at[f][j][m0] = r[f][0][j];
                col_at[f][j][m0 + 8] = r[f][1][j];
              }
            }
          }
          if (per_pass) {
            simt::sync_warp();  // every lane's columns of the pass are written
            fold(pv, nbv - pv < vp ? nbv - pv : vp);
            simt::sync_warp();  // the column sums are free for the next pass
          }
        }
        if (!per_pass) {
          simt::sync_warp();  // every lane's columns are written
          fold(0, nbv);
        }
        simt::sync_warp();  // the batch's codes and columns are free for the next batch
      }
    }
    simt::sync_block();
    finish_item<kThreads>(p, it, item, Y, Q, red);
  }
}

/// A warp-kernel launch: the parameters with their chunking, the shared-memory layout,
/// the grid. `sms` multiprocessors; throws Unsupported when a tile does not fit.
struct WarpLaunch {
  LayerParams p;
  WarpSmem smem;
  warp::ReadPlan rp;
  int grid = 0;
  WarpSmem batch_smem{};  // warp_batch_body's layout for the same chunks (batch 0: not for this layer)
};

/// True when warp_batch_body can run the launch: a tile of the short, narrow or tall
/// variant (warp_k_steps) read in one row chunk, without read noise, one read group, the
/// register shift-add, and a batch layout that fits the variant's blocks per SM.
inline bool warp_batch_applies(const WarpLaunch& w) {
  return w.batch_smem.batch > 0 && w.p.read_noise <= 0.0f && w.rp.groups == 1 && w.p.exact_shift_add &&
         w.smem.rows_k == w.p.rows_p;
}
/// True when warp_batch_body, where it applies, runs its instantiation that skips the
/// phases whose DAC codes are all zero (kHalves): p.skip_zero_phases, signed inputs of
/// two phases of 5-8 steps on 16 read slots (6-9 bits bit-serial, or wider with wider DAC
/// codes), the batch's column sums kept, and a short tile (a first convolution: LeNet-5's
/// conv1).
inline bool warp_batch_halves(const WarpLaunch& w) {
  return w.p.skip_zero_phases && w.rp.reads_p == 16 && w.p.phases == 2 && w.p.steps <= 8 &&
         w.batch_smem.col_vectors >= w.batch_smem.batch && warp_k_steps(w.p.rows_p, false) == warp::kShortKSteps;
}
inline WarpLaunch prepare_warp_launch(LayerParams p, int trials, int sms) {
  WarpLaunch w;
  w.rp = warp::read_plan(p.phases, p.steps);
  const WarpChunking chunking =
      warp_chunking(p.rows_p, p.cols_p, p.max_logical, w.rp, p.run_vectors_per_trial, p.read_noise > 0.0f);
  if (chunking.V == 0) {
    throw Unsupported(fmt::format("the warp crossbar kernel does not fit a {} x {} tile read with {} logical columns",
                                  p.rows_p, p.cols_p, p.max_logical));
  }
  if (warp_k_steps(p.rows_p, p.read_noise > 0.0f) == warp::kShortKSteps && chunking.smem.rows_k < p.rows_p)
    throw Error("internal: the warp kernel's short variant assumes one row chunk");  // (it skips their sums)
  p.vec = chunking.V;
  p.chunks_per_trial = (p.vectors_per_trial + p.vec - 1) / p.vec;
  p.items = p.chunks_per_trial * p.n_col_tiles * trials;
  const std::int64_t blocks_wanted = 2ll * chunking.blocks_per_sm * sms;
  p.items_per_block = std::max<std::int64_t>(1, (p.items + blocks_wanted - 1) / blocks_wanted);
  w.grid = static_cast<int>((p.items + p.items_per_block - 1) / p.items_per_block);
  w.p = p;
  w.smem = chunking.smem;
  if (chunking.smem.rows_k == p.rows_p)
    w.batch_smem =
        warp_batch_smem(chunking.smem, p.cols_p, p.phases, w.rp.vectors, warp_smem_budget(chunking.blocks_per_sm));
  return w;
}

}  // namespace xbarmc::cuda::detail
