// Network operators: weight layers (Conv, Gemm, MatMul with a constant operand)
// lowered to matrix products through the MatmulProvider, and the digital ones
// (activation MatMul, pooling, normalization, softmax, reductions).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include <cblas.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "op_common.hpp"
#include "xbarmc/model/elementwise.hpp"

namespace xbarmc::model::detail {

namespace {

inline void relu_inplace(float* y, std::int64_t n) {
  for (std::int64_t k = 0; k < n; ++k) y[k] = y[k] > 0.0f ? y[k] : 0.0f;
}

/// dst (cols x rows) = src (rows x cols)^T, both row-major: 32x32 tiles for the cache,
/// 4x4 SSE transposes inside them (SSE is part of x86-64), scalar edges.
void transpose(const float* src, std::int64_t rows, std::int64_t cols, float* dst) {
  constexpr std::int64_t B = 32;
  for (std::int64_t r0 = 0; r0 < rows; r0 += B)
    for (std::int64_t c0 = 0; c0 < cols; c0 += B) {
      const std::int64_t r1 = std::min(rows, r0 + B), c1 = std::min(cols, c0 + B);
      std::int64_t r = r0;
#if defined(__SSE__)
      for (; r + 4 <= r1; r += 4) {
        std::int64_t c = c0;
        for (; c + 4 <= c1; c += 4) {
          __m128 a = _mm_loadu_ps(src + r * cols + c), b = _mm_loadu_ps(src + (r + 1) * cols + c);
          __m128 e = _mm_loadu_ps(src + (r + 2) * cols + c), f = _mm_loadu_ps(src + (r + 3) * cols + c);
          _MM_TRANSPOSE4_PS(a, b, e, f);
          _mm_storeu_ps(dst + c * rows + r, a);
          _mm_storeu_ps(dst + (c + 1) * rows + r, b);
          _mm_storeu_ps(dst + (c + 2) * rows + r, e);
          _mm_storeu_ps(dst + (c + 3) * rows + r, f);
        }
        for (; c < c1; ++c)
          for (std::int64_t q = 0; q < 4; ++q) dst[c * rows + r + q] = src[(r + q) * cols + c];
      }
#endif
      for (; r < r1; ++r)
        for (std::int64_t c = c0; c < c1; ++c) dst[c * rows + r] = src[r * cols + c];
    }
}

/// Y (n x M) = X (n x K) * W (K x M), all row-major, exact float.
inline void sgemm_rows(const float* X, std::int64_t n, std::int64_t K, const float* W, std::int64_t M, float* Y) {
  if (n == 0 || M == 0) return;
  if (K == 0) {
    std::fill(Y, Y + n * M, 0.0f);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(M), static_cast<int>(K),
              1.0f, X, static_cast<int>(K), W, static_cast<int>(M), 0.0f, Y, static_cast<int>(M));
}

/// Output length of a sliding window (conv or pool), PyTorch's ceil-mode rule.
std::int64_t window_out(std::int64_t in, std::int64_t pad_sum, std::int64_t kernel, std::int64_t stride,
                        std::int64_t dilation, bool ceil_mode, std::int64_t pad_begin) {
  const std::int64_t span = (kernel - 1) * dilation + 1;
  const std::int64_t num = in + pad_sum - span;
  if (num < 0) return 0;
  std::int64_t out = (ceil_mode ? (num + stride - 1) / stride : num / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;  // last window must start inside the input
  return out;
}

/// Spatial geometry shared by Conv and the pools (2-D; 1-D runs as H = 1).
struct Window {
  std::int64_t H = 1, W = 1, OH = 1, OW = 1;
  std::int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  std::int64_t pt = 0, pl = 0, pb = 0, pr = 0;
};

/// Resolves auto_pad (SAME_UPPER / SAME_LOWER / VALID) for one spatial dim.
void auto_pads(const std::string& mode, std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d,
               std::int64_t* begin, std::int64_t* end) {
  if (mode == "VALID") {
    *begin = *end = 0;
  } else if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    const std::int64_t out = (in + s - 1) / s;
    const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
    const std::int64_t small = total / 2, big = total - small;
    *begin = mode == "SAME_UPPER" ? small : big;
    *end = mode == "SAME_UPPER" ? big : small;
  }
}

/// Reads kernel_shape, strides, dilations, pads, auto_pad of a pooling node for input x (N, C, spatial...).
Window pool_window(const Node& n, const BindContext& c, const Shape& x, bool ceil_mode) {
  const int sd = static_cast<int>(x.size()) - 2;
  if (sd < 1 || sd > 2) unsupported(n, fmt::format("{}-D pooling (1-D and 2-D are supported)", sd));
  auto ks = n.attr_ints("kernel_shape");
  if (static_cast<int>(ks.size()) != sd) fail(n, c, "kernel_shape does not match the input's spatial rank");
  auto st = n.attr_ints("strides", std::vector<std::int64_t>(sd, 1));
  auto di = n.attr_ints("dilations", std::vector<std::int64_t>(sd, 1));
  auto pads = n.attr_ints("pads", std::vector<std::int64_t>(2 * sd, 0));
  if (static_cast<int>(st.size()) != sd || static_cast<int>(di.size()) != sd || static_cast<int>(pads.size()) != 2 * sd)
    fail(n, c, "strides, dilations or pads have the wrong length");
  Window w;
  const std::string ap = n.attr_text("auto_pad", "NOTSET");
  if (sd == 1) {
    w.W = x[2];
    w.kw = ks[0];
    w.sw = st[0];
    w.dw = di[0];
    w.pl = pads[0];
    w.pr = pads[1];
    auto_pads(ap, w.W, w.kw, w.sw, w.dw, &w.pl, &w.pr);
  } else {
    w.H = x[2];
    w.W = x[3];
    w.kh = ks[0];
    w.kw = ks[1];
    w.sh = st[0];
    w.sw = st[1];
    w.dh = di[0];
    w.dw = di[1];
    w.pt = pads[0];
    w.pl = pads[1];
    w.pb = pads[2];
    w.pr = pads[3];
    auto_pads(ap, w.H, w.kh, w.sh, w.dh, &w.pt, &w.pb);
    auto_pads(ap, w.W, w.kw, w.sw, w.dw, &w.pl, &w.pr);
  }
  if (w.kh < 1 || w.kw < 1 || w.sh < 1 || w.sw < 1 || w.dh < 1 || w.dw < 1)
    fail(n, c, "kernel sizes, strides and dilations must be >= 1");
  w.OH = window_out(w.H, w.pt + w.pb, w.kh, w.sh, w.dh, ceil_mode, w.pt);
  w.OW = window_out(w.W, w.pl + w.pr, w.kw, w.sw, w.dw, ceil_mode, w.pl);
  if (w.OH < 1 || w.OW < 1)
    fail(n, c, fmt::format("the {}x{} input is smaller than the {}x{} window", w.H, w.W, w.kh, w.kw));
  return w;
}

// The copy loops of the convolution lowering, outside the kernel class so that the
// compiler keeps their few variables in registers, and built for AVX2 as well as the
// x86-64 baseline where the compiler can (the loader picks the version the CPU runs).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
// Not memcpy/memset calls either: the runs are short (one output row).
#define XBARMC_COPY_CLONES \
  __attribute__((target_clones("avx2", "default"), noinline, optimize("no-tree-loop-distribute-patterns")))
#else
#define XBARMC_COPY_CLONES
#endif

/// Patch rows of output rows [oy0, oy1) from a zero-padded sample (C x hp x wp): row
/// k = (c, ky, kx) of `cols` (leading dim ld) holds columns (oy, ox).
XBARMC_COPY_CLONES void im2col_rows(const float* __restrict src, std::int64_t C, std::int64_t hp, std::int64_t wp,
                                    const Window& w, std::int64_t oy0, std::int64_t oy1, float* __restrict cols,
                                    std::int64_t ld) {
  const std::int64_t OW = w.OW, kh = w.kh, kw = w.kw, sh = w.sh, sw = w.sw, dh = w.dh, dw = w.dw;
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t ky = 0; ky < kh; ++ky)
      for (std::int64_t kx = 0; kx < kw; ++kx) {
        float* __restrict d = cols + ((c * kh + ky) * kw + kx) * ld;
        const float* base = src + c * hp * wp + ky * dh * wp + kx * dw;
        if (sw == 1) {
          for (std::int64_t oy = oy0; oy < oy1; ++oy, d += OW) {
            const float* __restrict srow = base + oy * sh * wp;
            for (std::int64_t ox = 0; ox < OW; ++ox) d[ox] = srow[ox];
          }
        } else {
          for (std::int64_t oy = oy0; oy < oy1; ++oy, d += OW) {
            const float* __restrict srow = base + oy * sh * wp;
            for (std::int64_t ox = 0; ox < OW; ++ox) d[ox] = srow[ox * sw];
          }
        }
      }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define XBARMC_HAVE_DIRECT_CONV 1
/// Direct convolution with horizontal stride 1 (AVX2 + FMA): a padded sample (C x hp x wp)
/// to `out` (M x OH x OW). Blocks of 4 output channels x 16 output columns (two vectors)
/// accumulate in registers; weights come packed as [M/4][C][kh][kw][4]. Writes
/// relu?(sum + bias[m]). `pad` needs 16 floats of readable slack after its end.
__attribute__((target("avx2,fma"))) void direct_conv_avx2(const float* pad, std::int64_t C, std::int64_t hp,
                                                          std::int64_t wp, const Window& w, std::int64_t M,
                                                          const float* packed, const float* bias, bool relu,
                                                          float* out) {
  const std::int64_t OH = w.OH, OW = w.OW, kh = w.kh, kw = w.kw, sh = w.sh, dh = w.dh;
  const std::int64_t mblocks = (M + 3) / 4;
  const __m256 zero = _mm256_setzero_ps();
  alignas(32) float tmp[4][16];
  for (std::int64_t mb = 0; mb < mblocks; ++mb) {
    const float* wb = packed + mb * C * kh * kw * 4;
    const std::int64_t mcount = std::min<std::int64_t>(4, M - mb * 4);
    __m256 b[4];
    for (int j = 0; j < 4; ++j) b[j] = _mm256_set1_ps(j < mcount && bias ? bias[mb * 4 + j] : 0.0f);
    for (std::int64_t oy = 0; oy < OH; ++oy)
      for (std::int64_t ox0 = 0; ox0 < OW; ox0 += 16) {
        __m256 a00 = b[0], a01 = b[0], a10 = b[1], a11 = b[1], a20 = b[2], a21 = b[2], a30 = b[3], a31 = b[3];
        const float* wk = wb;
        for (std::int64_t c = 0; c < C; ++c)
          for (std::int64_t ky = 0; ky < kh; ++ky) {
            const float* row = pad + c * hp * wp + (oy * sh + ky * dh) * wp + ox0;
            for (std::int64_t kx = 0; kx < kw; ++kx, wk += 4) {
              const __m256 x0 = _mm256_loadu_ps(row + kx), x1 = _mm256_loadu_ps(row + kx + 8);
              __m256 v = _mm256_broadcast_ss(wk);
              a00 = _mm256_fmadd_ps(v, x0, a00);
              a01 = _mm256_fmadd_ps(v, x1, a01);
              v = _mm256_broadcast_ss(wk + 1);
              a10 = _mm256_fmadd_ps(v, x0, a10);
              a11 = _mm256_fmadd_ps(v, x1, a11);
              v = _mm256_broadcast_ss(wk + 2);
              a20 = _mm256_fmadd_ps(v, x0, a20);
              a21 = _mm256_fmadd_ps(v, x1, a21);
              v = _mm256_broadcast_ss(wk + 3);
              a30 = _mm256_fmadd_ps(v, x0, a30);
              a31 = _mm256_fmadd_ps(v, x1, a31);
            }
          }
        if (relu) {
          a00 = _mm256_max_ps(a00, zero), a01 = _mm256_max_ps(a01, zero), a10 = _mm256_max_ps(a10, zero);
          a11 = _mm256_max_ps(a11, zero), a20 = _mm256_max_ps(a20, zero), a21 = _mm256_max_ps(a21, zero);
          a30 = _mm256_max_ps(a30, zero), a31 = _mm256_max_ps(a31, zero);
        }
        const std::int64_t n = std::min<std::int64_t>(16, OW - ox0);
        _mm256_store_ps(tmp[0], a00), _mm256_store_ps(tmp[0] + 8, a01), _mm256_store_ps(tmp[1], a10);
        _mm256_store_ps(tmp[1] + 8, a11), _mm256_store_ps(tmp[2], a20), _mm256_store_ps(tmp[2] + 8, a21);
        _mm256_store_ps(tmp[3], a30), _mm256_store_ps(tmp[3] + 8, a31);
        for (std::int64_t j = 0; j < mcount; ++j) {
          float* o = out + ((mb * 4 + j) * OH + oy) * OW + ox0;
          for (std::int64_t q = 0; q < n; ++q) o[q] = tmp[j][q];
        }
      }
  }
}
#endif

/// C channels of H x W from `src` into `pad` (C x hp x wp) with zero borders.
XBARMC_COPY_CLONES void pad_channels(const float* __restrict src, std::int64_t C, std::int64_t H, std::int64_t W,
                                     std::int64_t pt, std::int64_t pl, std::int64_t hp, std::int64_t wp,
                                     float* __restrict pad) {
  for (std::int64_t c = 0; c < C; ++c) {
    float* __restrict d = pad + c * hp * wp;
    const float* __restrict sc = src + c * H * W;
    for (std::int64_t k = 0; k < pt * wp; ++k) d[k] = 0.0f;
    for (std::int64_t iy = 0; iy < H; ++iy) {
      float* __restrict row = d + (iy + pt) * wp;
      for (std::int64_t k = 0; k < pl; ++k) row[k] = 0.0f;
      for (std::int64_t k = 0; k < W; ++k) row[pl + k] = sc[iy * W + k];
      for (std::int64_t k = pl + W; k < wp; ++k) row[k] = 0.0f;
    }
    for (std::int64_t k = (pt + H) * wp; k < hp * wp; ++k) d[k] = 0.0f;
  }
}

// ---------------------------------------------------------------------------
// Conv (a weight layer): im2col + matrix product per group
// ---------------------------------------------------------------------------
class ConvKernel : public OpKernel {
 public:
  ConvKernel(int layer, const WeightLayer& wl, Window w, std::int64_t N, bool relu)
      : layer_(layer), wl_(wl), w_(w), N_(N), relu_(relu) {
    G_ = wl.groups;
    Cg_ = wl.in_channels / G_;
    Mg_ = wl.M;
    K_ = wl.K;
    P_ = w.OH * w.OW;
    direct_ =
        w.kh == 1 && w.kw == 1 && w.sh == 1 && w.sw == 1 && w.pt == 0 && w.pl == 0 && w.pb == 0 && w.pr == 0 && G_ == 1;
    // The float path keeps each patch matrix near kTile floats so that it stays in the L2
    // cache while sgemm packs it: several samples per product when they are small, a band
    // of output rows of one sample when one sample is larger.
    const std::int64_t per_sample = std::max<std::int64_t>(1, K_ * P_);
    chunk_ = std::clamp<std::int64_t>(kTile / per_sample, 1, std::max<std::int64_t>(N, 1));
    band_ =
        per_sample <= kTile ? w.OH : std::clamp<std::int64_t>(kTile / std::max<std::int64_t>(1, K_ * w.OW), 1, w.OH);
    // The provider path hands whole samples to the provider (fewer, larger calls).
    pchunk_ = std::clamp<std::int64_t>(kProviderChunk / per_sample, 1, std::max<std::int64_t>(N, 1));
    if (direct_) chunk_ = pchunk_ = 1;  // the input of one sample is already its patch matrix
#if defined(XBARMC_HAVE_DIRECT_CONV)
    // Horizontal stride 1 on a CPU with AVX2 and FMA: a direct convolution (no patch
    // matrix) for the float path; the provider path keeps the patch rows.
    // Rows of 8 or fewer outputs would waste most of the two 8-wide vectors: GEMM there.
    dconv_ = !direct_ && w.sw == 1 && w.dw == 1 && w.OW > 8 && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma");
    if (dconv_) {
      const std::int64_t mblocks = (Mg_ + 3) / 4, taps = w.kh * w.kw;
      dpacked_.assign(static_cast<std::size_t>(G_ * mblocks * Cg_ * taps * 4), 0.0f);
      for (int g = 0; g < G_; ++g)
        for (std::int64_t m = 0; m < Mg_; ++m)
          for (std::int64_t c = 0; c < Cg_; ++c)
            for (std::int64_t t = 0; t < taps; ++t)
              dpacked_[(((g * mblocks + m / 4) * Cg_ + c) * taps + t) * 4 + m % 4] = wl.w(g, c * taps + t, m);
    }
#endif
  }
  std::size_t scratch_floats() const override {
    std::int64_t fl = chunk_ * band_ * w_.OW * (K_ + Mg_);
    if (dconv_) fl = std::max(fl, Cg_ * Hp() * Wp() + 64);
    return static_cast<std::size_t>(std::max(fl, pr_floats()) + padded_floats() + 32);
  }

  void run(const TensorView* in, const TensorView* out, RunContext& ctx) override {
    if (ctx.provider) run_provider(in[0].f(), out[0].f(), ctx);
#if defined(XBARMC_HAVE_DIRECT_CONV)
    else if (dconv_)
      run_direct(in[0].f(), out[0].f(), ctx.scratch);
#endif
    else
      run_float(in[0].f(), out[0].f(), ctx.scratch);
  }

 private:
  static constexpr std::int64_t kTile = 1 << 15;           // floats of one float-path patch matrix (128 KB)
  static constexpr std::int64_t kProviderChunk = 1 << 18;  // floats of one provider-path patch matrix (1 MB)

  void run_float(const float* x, float* y, float* scratch) const {
    const float* bias = wl_.bias.empty() ? nullptr : wl_.bias.data();
    const std::int64_t Mt = Mg_ * G_, OW = w_.OW;
    float* pad = scratch;
    float* cols = scratch + round_up(padded_floats());
    for (std::int64_t s0 = 0; s0 < N_; s0 += chunk_) {
      const std::int64_t cs = std::min(chunk_, N_ - s0);
      for (int g = 0; g < G_; ++g) {
        const float* Wg = wl_.weights.data() + static_cast<std::int64_t>(g) * K_ * Mg_;
        if (cs == 1) {
          // One sample, in bands of output rows, straight into the NCHW output (ldc = P).
          float* dst = y + (s0 * Mt + static_cast<std::int64_t>(g) * Mg_) * P_;
          const float* src = direct_ ? nullptr : padded_sample(x, s0, g, pad);
          for (std::int64_t oy0 = 0; oy0 < w_.OH; oy0 += band_) {
            const std::int64_t oy1 = std::min(w_.OH, oy0 + band_), np = (oy1 - oy0) * OW;
            const float* patches = cols;
            if (direct_)
              patches = x + s0 * wl_.in_channels * P_ + oy0 * OW;
            else
              im2col(src, oy0, oy1, cols, np);
            // C starts as the bias and accumulates the product (beta = 1): no zeroing pass.
            for (std::int64_t m = 0; m < Mg_; ++m) fill(dst + m * P_ + oy0 * OW, np, bias ? bias[g * Mg_ + m] : 0.0f);
            gemm_t(Wg, patches, np, direct_ ? P_ : np, dst + oy0 * OW, P_, 1.0f);
            if (relu_)
              for (std::int64_t m = 0; m < Mg_; ++m) finish(dst + m * P_ + oy0 * OW, dst + m * P_ + oy0 * OW, np, 0.0f);
          }
        } else {
          // Several small samples in one product, then scattered to NCHW.
          const std::int64_t np = cs * P_;
          float* ybuf = cols + K_ * np;
          for (std::int64_t s = 0; s < cs; ++s) im2col(padded_sample(x, s0 + s, g, pad), 0, w_.OH, cols + s * P_, np);
          for (std::int64_t m = 0; m < Mg_; ++m) fill(ybuf + m * np, np, bias ? bias[g * Mg_ + m] : 0.0f);
          gemm_t(Wg, cols, np, np, ybuf, np, 1.0f);
          for (std::int64_t s = 0; s < cs; ++s)
            for (std::int64_t m = 0; m < Mg_; ++m)
              finish(ybuf + m * np + s * P_, y + ((s0 + s) * Mt + g * Mg_ + m) * P_, P_, 0.0f);
        }
      }
    }
  }

#if defined(XBARMC_HAVE_DIRECT_CONV)
  void run_direct(const float* x, float* y, float* scratch) const {
    const float* bias = wl_.bias.empty() ? nullptr : wl_.bias.data();
    const std::int64_t Mt = Mg_ * G_, mblocks = (Mg_ + 3) / 4, taps = w_.kh * w_.kw;
    const std::int64_t hp = Hp(), wp = Wp();
    for (std::int64_t s = 0; s < N_; ++s)
      for (int g = 0; g < G_; ++g) {
        // Always a padded copy: the kernel reads up to 16 floats past a row's last output.
        const float* src = x + (s * wl_.in_channels + g * Cg_) * w_.H * w_.W;
        pad_channels(src, Cg_, w_.H, w_.W, w_.pt, w_.pl, hp, wp, scratch);
        for (std::int64_t k = 0; k < 32; ++k) scratch[Cg_ * hp * wp + k] = 0.0f;
        direct_conv_avx2(scratch, Cg_, hp, wp, w_, Mg_, dpacked_.data() + g * mblocks * Cg_ * taps * 4,
                         bias ? bias + g * Mg_ : nullptr, relu_, y + (s * Mt + g * Mg_) * P_);
      }
  }
#endif

  void run_provider(const float* x, float* y, RunContext& ctx) const {
    const float* bias = wl_.bias.empty() ? nullptr : wl_.bias.data();
    const std::int64_t Mt = Mg_ * G_;
    float* rows_buf = ctx.scratch;
    float* ybuf = rows_buf + pchunk_ * P_ * K_;
    for (std::int64_t s0 = 0; s0 < N_; s0 += pchunk_) {
      const std::int64_t cs = std::min(pchunk_, N_ - s0);
      const std::int64_t np = cs * P_;
      for (int g = 0; g < G_; ++g) {
        // Rows (sample, oy, ox) x K: each sample's patch matrix (K x P), transposed.
        float* pad = ctx.scratch + round_up(std::max(fl_floats(), pr_floats()));
        for (std::int64_t s = 0; s < cs; ++s) {
          if (direct_) {
            transpose(x + (s0 + s) * wl_.in_channels * P_, K_, P_, rows_buf + s * P_ * K_);
          } else {
            im2col(padded_sample(x, s0 + s, g, pad), 0, w_.OH, ybuf, P_);  // ybuf: K x P scratch
            transpose(ybuf, K_, P_, rows_buf + s * P_ * K_);
          }
        }
        ctx.provider->matmul(layer_, g, rows_buf, np, ybuf);
        for (std::int64_t s = 0; s < cs; ++s) {
          float* dst = y + ((s0 + s) * Mt + g * Mg_) * P_;
          transpose(ybuf + s * P_ * Mg_, P_, Mg_, dst);
          for (std::int64_t m = 0; m < Mg_; ++m)
            finish(dst + m * P_, dst + m * P_, P_, bias ? bias[g * Mg_ + m] : 0.0f);
        }
      }
    }
  }

  // C (Mg x np, leading dim ldc) = Wg^T (Mg x K) * patches (K x np, leading dim ldb).
  void gemm_t(const float* Wg, const float* patches, std::int64_t np, std::int64_t ldb, float* C, std::int64_t ldc,
              float beta) const {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(Mg_), static_cast<int>(np),
                static_cast<int>(K_), 1.0f, Wg, static_cast<int>(Mg_), patches, static_cast<int>(ldb), beta, C,
                static_cast<int>(ldc));
  }
  static void fill(float* d, std::int64_t n, float v) {
    for (std::int64_t k = 0; k < n; ++k) d[k] = v;
  }
  // dst[p] = src[p] + b over n values of one channel, with the fused ReLU (src may be dst).
  void finish(const float* src, float* dst, std::int64_t n, float b) const {
    if (relu_) {
      for (std::int64_t p = 0; p < n; ++p) {
        const float v = src[p] + b;
        dst[p] = v > 0.0f ? v : 0.0f;
      }
    } else {
      for (std::int64_t p = 0; p < n; ++p) dst[p] = src[p] + b;
    }
  }
  static std::int64_t round_up(std::int64_t n) { return (n + 15) / 16 * 16; }
  std::int64_t fl_floats() const { return chunk_ * band_ * w_.OW * (K_ + Mg_); }
  std::int64_t pr_floats() const { return P_ * (pchunk_ * K_ + std::max(K_, pchunk_ * Mg_)); }
  bool padded() const { return w_.pt > 0 || w_.pl > 0 || w_.pb > 0 || w_.pr > 0; }
  std::int64_t Hp() const { return w_.H + w_.pt + w_.pb; }
  std::int64_t Wp() const { return w_.W + w_.pl + w_.pr; }
  std::int64_t padded_floats() const { return padded() ? Cg_ * Hp() * Wp() : 0; }

  // The group's channels of sample s, zero-padded (Cg x Hp x Wp) into `pad`; without
  // padding, the input itself.
  const float* padded_sample(const float* x, std::int64_t s, int g, float* pad) const {
    const float* src = x + (s * wl_.in_channels + g * Cg_) * w_.H * w_.W;
    if (!padded()) return src;
    pad_channels(src, Cg_, w_.H, w_.W, w_.pt, w_.pl, Hp(), Wp(), pad);
    return pad;
  }

  // Patch rows of output rows [oy0, oy1) from a padded sample (see im2col_rows).
  void im2col(const float* src, std::int64_t oy0, std::int64_t oy1, float* cols, std::int64_t ld) const {
    im2col_rows(src, Cg_, padded() ? Hp() : w_.H, padded() ? Wp() : w_.W, w_, oy0, oy1, cols, ld);
  }

  int layer_;
  const WeightLayer& wl_;
  Window w_;
  std::int64_t N_;
  bool relu_;
  int G_ = 1;
  std::int64_t Cg_ = 0, Mg_ = 0, K_ = 0, P_ = 0;
  std::int64_t chunk_ = 1, band_ = 1, pchunk_ = 1;
  bool dconv_ = false;          // float path by direct_conv_avx2
  std::vector<float> dpacked_;  // its weights: [group][M/4][Cg][kh][kw][4]
  bool direct_ = false;
};

BoundOp bind_conv(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  if (c.layer < 0)
    unsupported(n, "Conv with weights computed at run time (the weights must be an initializer or a constant)");
  const WeightLayer& wl = (*c.layers)[c.layer];
  if (x.dtype != DType::f32) fail(n, c, "the input must be float");
  const int sd = static_cast<int>(x.shape.size()) - 2;
  if (sd != wl.spatial_dims)
    fail(n, c, fmt::format("input {} has {} spatial dims, the kernel {}", shape_str(x.shape), sd, wl.spatial_dims));
  if (x.shape[1] != wl.in_channels)
    fail(
        n, c,
        fmt::format("input {} has {} channels, the weights expect {}", shape_str(x.shape), x.shape[1], wl.in_channels));
  Window w;
  w.H = sd == 2 ? x.shape[2] : 1;
  w.W = x.shape.back();
  w.kh = wl.kernel_h;
  w.kw = wl.kernel_w;
  w.sh = wl.stride_h;
  w.sw = wl.stride_w;
  w.dh = wl.dilation_h;
  w.dw = wl.dilation_w;
  w.pt = wl.pad_top;
  w.pl = wl.pad_left;
  w.pb = wl.pad_bottom;
  w.pr = wl.pad_right;
  if (sd == 2) auto_pads(wl.auto_pad, w.H, w.kh, w.sh, w.dh, &w.pt, &w.pb);
  auto_pads(wl.auto_pad, w.W, w.kw, w.sw, w.dw, &w.pl, &w.pr);
  w.OH = window_out(w.H, w.pt + w.pb, w.kh, w.sh, w.dh, false, w.pt);
  w.OW = window_out(w.W, w.pl + w.pr, w.kw, w.sw, w.dw, false, w.pl);
  if (w.OH < 1 || w.OW < 1)
    fail(n, c, fmt::format("the input {} is smaller than the {}x{} kernel", shape_str(x.shape), w.kh, w.kw));
  Shape out{x.shape[0], wl.M * wl.groups};
  if (sd == 2) out.push_back(w.OH);
  out.push_back(w.OW);
  BoundOp b;
  b.kernel = std::make_unique<ConvKernel>(c.layer, wl, w, x.shape[0], c.fused_relu);
  b.outputs = {ValueMeta{DType::f32, out, nullptr}};
  return b;
}

// ---------------------------------------------------------------------------
// Gemm and MatMul with a constant operand (weight layers)
// ---------------------------------------------------------------------------
class DenseKernel : public OpKernel {
 public:
  // rows: product rows per batch slice; batches: slices (constant_first: the leading dims of X).
  DenseKernel(int layer, const WeightLayer& wl, std::int64_t rows, std::int64_t batches, bool trans_a, bool relu)
      : layer_(layer), wl_(wl), rows_(rows), batches_(batches), trans_a_(trans_a), relu_(relu) {}
  std::size_t scratch_floats() const override { return static_cast<std::size_t>(rows_ * wl_.K + rows_ * wl_.M + 16); }
  void run(const TensorView* in, const TensorView* out, RunContext& ctx) override {
    const float* x = in[wl_.constant_first ? 1 : 0].f();
    float* y = out[0].f();
    const std::int64_t K = wl_.K, M = wl_.M;
    if (wl_.constant_first) {
      // Y_b (M x rows) = A (M x K) * X_b (K x rows); A^T is stored as weights (K x M).
      for (std::int64_t b = 0; b < batches_; ++b) {
        const float* xb = x + b * K * rows_;
        float* yb = y + b * M * rows_;
        if (!ctx.provider) {
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(M), static_cast<int>(rows_),
                      static_cast<int>(K), 1.0f, wl_.weights.data(), static_cast<int>(M), xb, static_cast<int>(rows_),
                      0.0f, yb, static_cast<int>(rows_));
        } else {
          float* xt = ctx.scratch;
          float* yt = xt + rows_ * K;
          transpose(xb, K, rows_, xt);
          ctx.provider->matmul(layer_, 0, xt, rows_, yt);
          transpose(yt, rows_, M, yb);
        }
        for (std::int64_t m = 0; m < M; ++m) finish(yb + m * rows_, rows_, 1, wl_.bias.empty() ? 0.0f : wl_.bias[m]);
      }
      return;
    }
    const float* a = x;
    if (trans_a_) {
      transpose(x, K, rows_, ctx.scratch);
      a = ctx.scratch;
    }
    if (!ctx.provider)
      sgemm_rows(a, rows_, K, wl_.weights.data(), M, y);
    else
      ctx.provider->matmul(layer_, 0, a, rows_, y);
    if (!wl_.bias.empty() || relu_) {
      const float* bias = wl_.bias.empty() ? nullptr : wl_.bias.data();
      for (std::int64_t r = 0; r < rows_; ++r) {
        float* row = y + r * M;
        if (bias)
          for (std::int64_t m = 0; m < M; ++m) row[m] += bias[m];
        if (relu_) relu_inplace(row, M);
      }
    }
  }

 private:
  void finish(float* v, std::int64_t n, std::int64_t, float b) const {
    for (std::int64_t k = 0; k < n; ++k) v[k] += b;
    if (relu_) relu_inplace(v, n);
  }
  int layer_;
  const WeightLayer& wl_;
  std::int64_t rows_, batches_;
  bool trans_a_, relu_;
};

BoundOp bind_gemm_layer(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const WeightLayer& wl = (*c.layers)[c.layer];
  const ValueMeta& a = input(n, in, c, wl.constant_first ? 1 : 0);  // the activation operand
  if (a.dtype != DType::f32) fail(n, c, "the input must be float");
  BoundOp b;
  if (n.op_type == "Gemm") {
    if (a.shape.size() != 2) fail(n, c, fmt::format("A must be 2-D, got {}", shape_str(a.shape)));
    const bool ta = n.attr_int("transA", 0) != 0;
    const std::int64_t rows = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
    if (k != wl.K) fail(n, c, fmt::format("A {} has {} features, the weights expect {}", shape_str(a.shape), k, wl.K));
    b.kernel = std::make_unique<DenseKernel>(c.layer, wl, rows, 1, ta, c.fused_relu);
    b.outputs = {ValueMeta{DType::f32, {rows, wl.M}, nullptr}};
    return b;
  }
  // MatMul
  if (wl.constant_first) {  // Y = A (M x K) * X (..., K, cols)
    if (a.shape.size() < 2) fail(n, c, "the second operand must have at least 2 dims");
    const std::int64_t k = a.shape[a.shape.size() - 2], cols = a.shape.back();
    if (k != wl.K)
      fail(n, c, fmt::format("operand {} has {} rows, the constant expects {}", shape_str(a.shape), k, wl.K));
    Shape out = a.shape;
    out[out.size() - 2] = wl.M;
    b.kernel = std::make_unique<DenseKernel>(c.layer, wl, cols, numel(a.shape) / (k * cols), false, c.fused_relu);
    b.outputs = {ValueMeta{DType::f32, out, nullptr}};
    return b;
  }
  if (a.shape.empty()) fail(n, c, "a scalar operand");
  if (a.shape.back() != wl.K)
    fail(n, c,
         fmt::format("operand {} has {} features, the constant expects {}", shape_str(a.shape), a.shape.back(), wl.K));
  Shape out(a.shape.begin(), a.shape.end() - 1);
  out.push_back(wl.M);
  b.kernel = std::make_unique<DenseKernel>(c.layer, wl, numel(a.shape) / wl.K, 1, false, c.fused_relu);
  b.outputs = {ValueMeta{DType::f32, out, nullptr}};
  return b;
}

// MatMul between two activations (attention): batched sgemm, digital float.
class BatchedMatMulKernel : public OpKernel {
 public:
  BatchedMatMulKernel(std::int64_t m, std::int64_t k, std::int64_t n, std::vector<std::int64_t> a_off,
                      std::vector<std::int64_t> b_off)
      : m_(m), k_(k), n_(n), a_off_(std::move(a_off)), b_off_(std::move(b_off)) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    const float* a = in[0].f();
    const float* b = in[1].f();
    float* y = out[0].f();
    for (std::size_t t = 0; t < a_off_.size(); ++t) {
      if (k_ == 0) {
        std::fill(y + t * m_ * n_, y + (t + 1) * m_ * n_, 0.0f);
        continue;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m_), static_cast<int>(n_),
                  static_cast<int>(k_), 1.0f, a + a_off_[t], static_cast<int>(k_), b + b_off_[t], static_cast<int>(n_),
                  0.0f, y + t * m_ * n_, static_cast<int>(n_));
    }
  }

 private:
  std::int64_t m_, k_, n_;
  std::vector<std::int64_t> a_off_, b_off_;
};

BoundOp bind_matmul(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  if (c.layer >= 0) return bind_gemm_layer(n, in, c);
  if (n.op_type == "Gemm")
    unsupported(n, "Gemm with a B operand computed at run time (B must be an initializer or a constant)");
  const ValueMeta& a = input(n, in, c, 0);
  const ValueMeta& bm = input(n, in, c, 1);
  if (a.dtype != DType::f32 || bm.dtype != DType::f32) fail(n, c, "MatMul needs float inputs");
  Shape sa = a.shape, sb = bm.shape;
  const bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
  if (sa.empty() || sb.empty()) fail(n, c, "scalar operands");
  if (a_vec) sa.insert(sa.begin(), 1);
  if (b_vec) sb.push_back(1);
  const std::int64_t m = sa[sa.size() - 2], k = sa.back(), nn = sb.back();
  if (sb[sb.size() - 2] != k)
    fail(n, c, fmt::format("shapes {} and {} cannot be multiplied", shape_str(a.shape), shape_str(bm.shape)));
  const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  const Shape batch = broadcast_shapes(n, c, ba, bb);
  // Offsets of each batch slice in A and B (broadcast dims repeat a slice).
  std::vector<std::int64_t> a_off, b_off;
  const std::int64_t nb = numel(batch);
  const int r = static_cast<int>(batch.size());
  auto slice_strides = [&](const Shape& s, std::int64_t slice) {
    std::vector<std::int64_t> st(r, 0);
    const int off = r - static_cast<int>(s.size());
    std::int64_t acc = slice;
    for (int d = r - 1; d >= off; --d) {
      st[d] = s[d - off] == 1 ? 0 : acc;
      acc *= s[d - off];
    }
    return st;
  };
  const auto sta = slice_strides(ba, m * k), stb = slice_strides(bb, k * nn);
  std::vector<std::int64_t> idx(r, 0);
  for (std::int64_t t = 0; t < nb; ++t) {
    std::int64_t oa = 0, ob = 0;
    for (int d = 0; d < r; ++d) {
      oa += idx[d] * sta[d];
      ob += idx[d] * stb[d];
    }
    a_off.push_back(oa);
    b_off.push_back(ob);
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  Shape out = batch;
  if (!a_vec) out.push_back(m);
  if (!b_vec) out.push_back(nn);
  BoundOp b;
  b.kernel = std::make_unique<BatchedMatMulKernel>(m, k, nn, std::move(a_off), std::move(b_off));
  b.outputs = {ValueMeta{DType::f32, out, nullptr}};
  return b;
}

// ---------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------
class PoolKernel : public OpKernel {
 public:
  PoolKernel(bool max, Window w, std::int64_t planes, bool count_include_pad)
      : max_(max), w_(w), planes_(planes), include_pad_(count_include_pad) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    const Window& w = w_;
    // Windows always inside the input (no padding, not clipped by ceil mode): no bounds checks.
    const bool inside = w.pt == 0 && w.pl == 0 && (w.OH - 1) * w.sh + (w.kh - 1) * w.dh < w.H &&
                        (w.OW - 1) * w.sw + (w.kw - 1) * w.dw < w.W;
    if (inside) {
      const float div = static_cast<float>(w.kh * w.kw);
      for (std::int64_t p = 0; p < planes_; ++p) {
        const float* src = in[0].f() + p * w.H * w.W;
        float* dst = out[0].f() + p * w.OH * w.OW;
        for (std::int64_t oy = 0; oy < w.OH; ++oy)
          for (std::int64_t ox = 0; ox < w.OW; ++ox) {
            const float* s0 = src + oy * w.sh * w.W + ox * w.sw;
            float acc = max_ ? s0[0] : 0.0f;
            for (std::int64_t ky = 0; ky < w.kh; ++ky)
              for (std::int64_t kx = 0; kx < w.kw; ++kx) {
                const float v = s0[ky * w.dh * w.W + kx * w.dw];
                acc = max_ ? (v > acc ? v : acc) : acc + v;
              }
            dst[oy * w.OW + ox] = max_ ? acc : acc / div;
          }
      }
      return;
    }
    for (std::int64_t p = 0; p < planes_; ++p) {
      const float* src = in[0].f() + p * w.H * w.W;
      float* dst = out[0].f() + p * w.OH * w.OW;
      for (std::int64_t oy = 0; oy < w.OH; ++oy)
        for (std::int64_t ox = 0; ox < w.OW; ++ox) {
          const std::int64_t y0 = oy * w.sh - w.pt, x0 = ox * w.sw - w.pl;
          float acc = max_ ? -std::numeric_limits<float>::infinity() : 0.0f;
          std::int64_t count = 0;
          for (std::int64_t ky = 0; ky < w.kh; ++ky) {
            const std::int64_t iy = y0 + ky * w.dh;
            if (iy < 0 || iy >= w.H) continue;
            for (std::int64_t kx = 0; kx < w.kw; ++kx) {
              const std::int64_t ix = x0 + kx * w.dw;
              if (ix < 0 || ix >= w.W) continue;
              const float v = src[iy * w.W + ix];
              if (max_)
                acc = v > acc ? v : acc;
              else
                acc += v;
              ++count;
            }
          }
          if (!max_) {
            std::int64_t div = count;
            if (include_pad_) {  // the window clipped to the padded input (PyTorch's rule)
              const std::int64_t y1 = std::min(y0 + w.kh, w.H + w.pb), x1 = std::min(x0 + w.kw, w.W + w.pr);
              div = (y1 - y0) * (x1 - x0);
            }
            acc = div > 0 ? acc / static_cast<float>(div) : 0.0f;
          }
          dst[oy * w.OW + ox] = acc;
        }
    }
  }

 private:
  bool max_;
  Window w_;
  std::int64_t planes_;
  bool include_pad_;
};

BoundOp bind_pool(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  if (x.dtype != DType::f32) fail(n, c, "the input must be float");
  if (n.outputs.size() > 1 && n.outputs[1] >= 0) unsupported(n, "the Indices output of MaxPool");
  const bool is_max = n.op_type == "MaxPool";
  const Window w = pool_window(n, c, x.shape, n.attr_int("ceil_mode", 0) != 0);
  if (!is_max && (w.dh != 1 || w.dw != 1)) unsupported(n, "dilated average pooling");
  Shape out{x.shape[0], x.shape[1]};
  if (x.shape.size() == 4) out.push_back(w.OH);
  out.push_back(w.OW);
  BoundOp b;
  b.kernel = std::make_unique<PoolKernel>(is_max, w, x.shape[0] * x.shape[1], n.attr_int("count_include_pad", 0) != 0);
  b.outputs = {ValueMeta{DType::f32, out, nullptr}};
  return b;
}

class GlobalPoolKernel : public OpKernel {
 public:
  GlobalPoolKernel(bool max, std::int64_t planes, std::int64_t size) : max_(max), planes_(planes), size_(size) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    for (std::int64_t p = 0; p < planes_; ++p) out[0].f()[p] = global_pool(max_, in[0].f() + p * size_, size_);
  }

 private:
  bool max_;
  std::int64_t planes_, size_;
};

BoundOp bind_global_pool(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  if (x.shape.size() < 3) fail(n, c, fmt::format("input {} has no spatial dims", shape_str(x.shape)));
  Shape out{x.shape[0], x.shape[1]};
  for (std::size_t d = 2; d < x.shape.size(); ++d) out.push_back(1);
  BoundOp b;
  b.kernel = std::make_unique<GlobalPoolKernel>(n.op_type == "GlobalMaxPool", x.shape[0] * x.shape[1],
                                                numel(x.shape) / (x.shape[0] * x.shape[1]));
  b.outputs = {ValueMeta{DType::f32, out, nullptr}};
  return b;
}

// ---------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------
class ChannelAffineKernel : public OpKernel {  // y = x * a[c] + b[c] over dim 1 (BatchNormalization not folded)
 public:
  ChannelAffineKernel(std::vector<float> a, std::vector<float> b, std::int64_t outer, std::int64_t inner, bool relu)
      : a_(std::move(a)), b_(std::move(b)), outer_(outer), inner_(inner), relu_(relu) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    const std::int64_t C = static_cast<std::int64_t>(a_.size());
    for (std::int64_t o = 0; o < outer_; ++o)
      for (std::int64_t ch = 0; ch < C; ++ch) {
        const float* x = in[0].f() + (o * C + ch) * inner_;
        float* y = out[0].f() + (o * C + ch) * inner_;
        const float a = a_[ch], b = b_[ch];
        for (std::int64_t k = 0; k < inner_; ++k) y[k] = x[k] * a + b;
        if (relu_) relu_inplace(y, inner_);
      }
  }

 private:
  std::vector<float> a_, b_;
  std::int64_t outer_, inner_;
  bool relu_;
};

BoundOp bind_batchnorm(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  if (n.attr_int("training_mode", 0) != 0 || (n.outputs.size() > 1 && n.outputs[1] >= 0))
    unsupported(n, "training-mode BatchNormalization (export the model in eval mode)");
  if (x.shape.size() < 2) fail(n, c, "the input needs a channel dim");
  const std::int64_t C = x.shape[1];
  const auto scale = constant_input(n, in, c, 1, "scale").as_floats();
  const auto bias = constant_input(n, in, c, 2, "bias").as_floats();
  const auto mean = constant_input(n, in, c, 3, "mean").as_floats();
  const auto var = constant_input(n, in, c, 4, "variance").as_floats();
  if (static_cast<std::int64_t>(scale.size()) != C || bias.size() != scale.size() || mean.size() != scale.size() ||
      var.size() != scale.size())
    fail(n, c, fmt::format("parameters do not have {} entries (the input's channels)", C));
  const float eps = n.attr_float("epsilon", 1e-5f);
  std::vector<float> a(C), b(C);
  for (std::int64_t k = 0; k < C; ++k) {
    a[k] = scale[k] / std::sqrt(var[k] + eps);
    b[k] = bias[k] - mean[k] * a[k];
  }
  BoundOp bo;
  bo.kernel = std::make_unique<ChannelAffineKernel>(std::move(a), std::move(b), x.shape[0],
                                                    numel(x.shape) / (x.shape[0] * C), c.fused_relu);
  bo.outputs = {ValueMeta{DType::f32, x.shape, nullptr}};
  bo.aliasing = Aliasing::in_place;
  return bo;
}

class LayerNormKernel : public OpKernel {
 public:
  LayerNormKernel(std::int64_t rows, std::int64_t cols, float eps, bool has_bias)
      : rows_(rows), cols_(cols), eps_(eps), has_bias_(has_bias) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    const float* scale = in[1].f();
    const float* bias = has_bias_ ? in[2].f() : nullptr;
    for (std::int64_t r = 0; r < rows_; ++r) {
      const float* x = in[0].f() + r * cols_;
      float* y = out[0].f() + r * cols_;
      double s = 0.0;
      for (std::int64_t k = 0; k < cols_; ++k) s += x[k];
      const float mean = static_cast<float>(s / static_cast<double>(cols_));
      double v = 0.0;
      for (std::int64_t k = 0; k < cols_; ++k) v += static_cast<double>(x[k] - mean) * (x[k] - mean);
      const float inv = static_cast<float>(1.0 / std::sqrt(v / static_cast<double>(cols_) + eps_));
      for (std::int64_t k = 0; k < cols_; ++k) y[k] = (x[k] - mean) * inv * scale[k] + (bias ? bias[k] : 0.0f);
    }
  }

 private:
  std::int64_t rows_, cols_;
  float eps_;
  bool has_bias_;
};

BoundOp bind_layernorm(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const ValueMeta& scale = input(n, in, c, 1);
  if (n.outputs.size() > 1 && (n.outputs[1] >= 0 || (n.outputs.size() > 2 && n.outputs[2] >= 0)))
    unsupported(n, "the Mean and InvStdDev outputs of LayerNormalization");
  const int r = static_cast<int>(x.shape.size());
  const int axis = normalize_axis(n, c, n.attr_int("axis", -1), r);
  std::int64_t rows = 1, cols = 1;
  for (int d = 0; d < r; ++d) (d < axis ? rows : cols) *= x.shape[d];
  if (numel(scale.shape) != cols || (n.has_input(2) && numel(in[2].shape) != cols))
    unsupported(n, "scale or bias that do not cover exactly the normalized dims");
  BoundOp b;
  b.kernel = std::make_unique<LayerNormKernel>(rows, cols, n.attr_float("epsilon", 1e-5f), n.has_input(2));
  b.outputs = {ValueMeta{DType::f32, x.shape, nullptr}};
  return b;
}

// ---------------------------------------------------------------------------
// Softmax, LogSoftmax
// ---------------------------------------------------------------------------
class SoftmaxKernel : public OpKernel {
 public:
  SoftmaxKernel(std::int64_t outer, std::int64_t dim, std::int64_t inner, bool log)
      : outer_(outer), dim_(dim), inner_(inner), log_(log) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    for (std::int64_t o = 0; o < outer_; ++o)
      for (std::int64_t i = 0; i < inner_; ++i) {
        const std::int64_t at = o * dim_ * inner_ + i;
        softmax_line(in[0].f() + at, out[0].f() + at, dim_, inner_, log_);
      }
  }

 private:
  std::int64_t outer_, dim_, inner_;
  bool log_;
};

BoundOp bind_softmax(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const int r = static_cast<int>(x.shape.size());
  const int axis = normalize_axis(n, c, n.attr_int("axis", c.opset >= 13 ? -1 : 1), r);
  std::int64_t outer = 1, dim = 1, inner = 1;
  for (int d = 0; d < r; ++d) {
    if (d < axis)
      outer *= x.shape[d];
    else if (d == axis || c.opset < 13)  // before opset 13: softmax over the flattened trailing dims
      dim *= x.shape[d];
    else
      inner *= x.shape[d];
  }
  BoundOp b;
  b.kernel = std::make_unique<SoftmaxKernel>(outer, dim, inner, n.op_type == "LogSoftmax");
  b.outputs = {ValueMeta{DType::f32, x.shape, nullptr}};
  b.aliasing = Aliasing::in_place;
  return b;
}

// ---------------------------------------------------------------------------
// Reductions: ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL2
// ---------------------------------------------------------------------------
// Reduce, reduce_init/step/finish: elementwise.hpp (shared with the GPU).

class ReduceKernel : public OpKernel {
 public:
  ReduceKernel(Reduce op, Shape in_shape, std::vector<char> reduced)
      : op_(op), in_(std::move(in_shape)), reduced_(std::move(reduced)) {
    const int r = static_cast<int>(in_.size());
    // Output strides over the input's dims (0 on reduced dims).
    std::int64_t acc = 1;
    ostride_.assign(r, 0);
    for (int d = r - 1; d >= 0; --d)
      if (!reduced_[d]) {
        ostride_[d] = acc;
        acc *= in_[d];
      }
    out_count_ = acc;
    count_ = numel(in_) / std::max<std::int64_t>(1, out_count_);
    idx_.assign(r, 0);
    acc_.assign(out_count_, 0.0);
  }
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    const double init = reduce_init(op_);
    std::fill(acc_.begin(), acc_.end(), init);
    const int r = static_cast<int>(in_.size());
    std::fill(idx_.begin(), idx_.end(), 0);
    const std::int64_t total = numel(in_);
    const std::int64_t inner = r ? in_[r - 1] : 1;
    const std::int64_t inner_stride = r ? ostride_[r - 1] : 0;
    std::int64_t o = 0;
    for (std::int64_t k = 0; k < total; k += inner) {
      const float* x = in[0].f() + k;
      for (std::int64_t j = 0; j < inner; ++j) {
        double& a = acc_[o + j * inner_stride];
        a = reduce_step(op_, a, x[j]);
      }
      for (int d = r - 2; d >= 0; --d) {
        o += ostride_[d];
        if (++idx_[d] < in_[d]) break;
        o -= ostride_[d] * in_[d];
        idx_[d] = 0;
      }
    }
    float* y = out[0].f();
    for (std::int64_t k = 0; k < out_count_; ++k) y[k] = reduce_finish(op_, acc_[k], count_);
  }

 private:
  Reduce op_;
  Shape in_;
  std::vector<char> reduced_;
  std::vector<std::int64_t> ostride_;
  std::int64_t out_count_ = 1, count_ = 1;
  std::vector<std::int64_t> idx_;  // scratch (a kernel belongs to one executor)
  std::vector<double> acc_;
};

BoundOp bind_reduce(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const ReduceBinding rb = *reduce_binding(n, in, c);
  BoundOp b;
  if (rb.copy) {  // noop_with_empty_axes and no axes
    b.kernel = std::make_unique<NoOpKernel>();
    b.outputs = {ValueMeta{x.dtype, x.shape, nullptr}};
    b.aliasing = Aliasing::view;
    return b;
  }
  const bool keep = n.attr_int("keepdims", 1) != 0;
  Shape out;
  for (std::size_t d = 0; d < x.shape.size(); ++d) {
    if (!rb.reduced[d])
      out.push_back(x.shape[d]);
    else if (keep)
      out.push_back(1);
  }
  b.kernel = std::make_unique<ReduceKernel>(rb.op, x.shape, rb.reduced);
  b.outputs = {ValueMeta{DType::f32, out, nullptr}};
  return b;
}

}  // namespace

void register_nn_ops(Registry& r) {
  r["Conv"] = bind_conv;
  r["Gemm"] = bind_matmul;
  r["MatMul"] = bind_matmul;
  r["MaxPool"] = bind_pool;
  r["AveragePool"] = bind_pool;
  r["GlobalAveragePool"] = bind_global_pool;
  r["GlobalMaxPool"] = bind_global_pool;
  r["BatchNormalization"] = bind_batchnorm;
  r["LayerNormalization"] = bind_layernorm;
  r["Softmax"] = bind_softmax;
  r["LogSoftmax"] = bind_softmax;
  for (const char* op :
       {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceSumSquare"})
    r[op] = bind_reduce;
}

}  // namespace xbarmc::model::detail

namespace xbarmc::model {

std::optional<ReduceBinding> reduce_binding(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  // The operator, and the opset from which the axes are an input rather than an attribute.
  static const std::map<std::string, std::pair<Reduce, int>> ops = {{"ReduceMean", {Reduce::mean, 18}},
                                                                    {"ReduceSum", {Reduce::sum, 13}},
                                                                    {"ReduceMax", {Reduce::max, 18}},
                                                                    {"ReduceMin", {Reduce::min, 18}},
                                                                    {"ReduceProd", {Reduce::prod, 18}},
                                                                    {"ReduceL2", {Reduce::l2, 18}},
                                                                    {"ReduceSumSquare", {Reduce::sum_square, 18}}};
  const auto it = ops.find(n.op_type);
  if (it == ops.end()) return std::nullopt;
  const ValueMeta& x = detail::input(n, in, c, 0);
  if (x.dtype != DType::f32) detail::fail(n, c, "the input must be float");
  const int r = static_cast<int>(x.shape.size());
  std::vector<std::int64_t> axes;
  if (c.opset >= it->second.second) {
    if (n.has_input(1)) axes = detail::constant_input(n, in, c, 1, "axes").as_ints();
  } else {
    axes = n.attr_ints("axes");
  }
  ReduceBinding b;
  b.op = it->second.first;
  b.reduced.assign(r, 0);
  if (axes.empty()) {
    if (n.attr_int("noop_with_empty_axes", 0) != 0) {
      b.copy = true;
      return b;
    }
    std::fill(b.reduced.begin(), b.reduced.end(), 1);
  }
  for (auto a : axes) b.reduced[detail::normalize_axis(n, c, a, r)] = 1;
  return b;
}

}  // namespace xbarmc::model
