#include "ops_cuda.cuh"
#include "ops_index.hpp"

#include <algorithm>
#include <cmath>

#include "xbarmc/cuda/check.cuh"
#include "xbarmc/errors.hpp"

namespace xbarmc::cuda::ops {

namespace {

constexpr int kBlock = 256;
static_assert(kIndexMaxRank == max_rank, "ops_index.hpp and ops_cuda.cuh agree on the largest rank");

struct Dims {
  int rank;
  std::int64_t size[max_rank];
};

// Output shape of rank r, and an input's strides over it (0 where the input broadcasts).
struct Bcast {
  int rank;
  std::int64_t out[max_rank];
  std::int64_t stride[max_rank];
};

Bcast make_bcast(const Shape& sx, const Shape& sy) {
  if (sy.size() > static_cast<std::size_t>(max_rank)) throw Unsupported("tensors of rank > 6 on the CUDA backend");
  Bcast b{};
  b.rank = static_cast<int>(sy.size());
  const int off = b.rank - static_cast<int>(sx.size());
  std::int64_t st = 1;
  for (int d = b.rank - 1; d >= 0; --d) {
    b.out[d] = sy[d];
    const int xd = d - off;
    const std::int64_t xs = xd >= 0 ? sx[xd] : 1;
    b.stride[d] = xs == 1 ? 0 : st;
    st *= xs;
  }
  return b;
}

std::int64_t numel(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

int grid_for(std::int64_t n) { return static_cast<int>(std::min<std::int64_t>((n + kBlock - 1) / kBlock, 65535 * 8)); }

#define XBARMC_GRID_STRIDE(i, n)                                                                   \
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)

__device__ __forceinline__ std::int64_t offset_of(std::int64_t i, const Bcast& b) {
  std::int64_t o = 0;
  for (int d = b.rank - 1; d >= 0; --d) {
    const std::int64_t q = i / b.out[d];
    o += (i - q * b.out[d]) * b.stride[d];
    i = q;
  }
  return o;
}

__global__ void unary_kernel(model::UnaryOp op, model::UnaryParams p, const float* x, float* y, std::int64_t n) {
  XBARMC_GRID_STRIDE(i, n) y[i] = model::apply_unary(op, x[i], p);
}

__global__ void binary_kernel(Binary op, const float* a, Bcast ba, const float* b, Bcast bb, float* y, std::int64_t n) {
  const bool compare = model::is_comparison(op);  // booleans as float 0 / 1
  XBARMC_GRID_STRIDE(i, n) {
    const float u = a[offset_of(i, ba)], v = b[offset_of(i, bb)];
    y[i] = compare ? static_cast<float>(model::apply_compare<float>(op, u, v)) : model::apply_binary<float>(op, u, v);
  }
}

template <typename C>
__global__ void where_kernel(const C* c, Bcast bc, const float* a, Bcast ba, const float* b, Bcast bb, float* y,
                             std::int64_t n) {
  XBARMC_GRID_STRIDE(i, n) y[i] = c[offset_of(i, bc)] != C(0) ? a[offset_of(i, ba)] : b[offset_of(i, bb)];
}

__global__ void expand_kernel(const float* x, Bcast bx, float* y, std::int64_t n) {
  XBARMC_GRID_STRIDE(i, n) y[i] = x[offset_of(i, bx)];
}

// y index i (shape out) reads x at sum_d coord_d * stride_d + base.
struct Map {
  int rank;
  std::int64_t out[max_rank];
  std::int64_t stride[max_rank];
  std::int64_t base;
};

__global__ void map_kernel(const float* x, Map m, float* y, std::int64_t n) {
  XBARMC_GRID_STRIDE(i, n) {
    std::int64_t j = i, o = m.base;
    for (int d = m.rank - 1; d >= 0; --d) {
      const std::int64_t q = j / m.out[d];
      o += (j - q * m.out[d]) * m.stride[d];
      j = q;
    }
    y[i] = x[o];
  }
}

Shape strides_of(const Shape& s) {
  Shape st(s.size(), 1);
  for (int d = static_cast<int>(s.size()) - 2; d >= 0; --d) st[d] = st[d + 1] * s[d + 1];
  return st;
}

void launch_map(const float* x, const Map& m, float* y, std::int64_t n, cudaStream_t s) {
  if (n == 0) return;
  map_kernel<<<grid_for(n), kBlock, 0, s>>>(x, m, y, n);
  XBARMC_CUDA_CHECK_LAUNCH();
}

__global__ void gather_kernel(const float* x, std::int64_t outer, std::int64_t axis_len, std::int64_t inner,
                              const std::int64_t* idx, std::int64_t nidx, float* y) {
  const std::int64_t n = outer * nidx * inner;
  XBARMC_GRID_STRIDE(i, n) {
    const std::int64_t in = i % inner, k = (i / inner) % nidx, o = i / (inner * nidx);
    std::int64_t j = idx[k];
    if (j < 0) j += axis_len;
    y[i] = (j >= 0 && j < axis_len) ? x[(o * axis_len + j) * inner + in] : 0.0f;
  }
}

__global__ void concat_kernel(const float* x, std::int64_t outer, std::int64_t len, std::int64_t inner,
                              std::int64_t out_len, std::int64_t offset, float* y) {
  const std::int64_t n = outer * len * inner;
  XBARMC_GRID_STRIDE(i, n) {
    const std::int64_t in = i % inner, k = (i / inner) % len, o = i / (inner * len);
    y[(o * out_len + offset + k) * inner + in] = x[i];
  }
}

__global__ void pool_kernel(Pool p, const float* x, float* y) {
  const std::int64_t n = p.N * p.C * p.OH * p.OW;
  XBARMC_GRID_STRIDE(i, n) {
    const std::int64_t ox = i % p.OW, oy = (i / p.OW) % p.OH, nc = i / (p.OW * p.OH);
    const float* xp = x + nc * p.H * p.W;
    float acc = p.max ? -INFINITY : 0.0f;
    int count = 0;
    for (std::int64_t ky = 0; ky < p.kh; ++ky) {
      const std::int64_t iy = oy * p.sh - p.pt + ky * p.dh;
      for (std::int64_t kx = 0; kx < p.kw; ++kx) {
        const std::int64_t ix = ox * p.sw - p.pl + kx * p.dw;
        const bool inside = iy >= 0 && iy < p.H && ix >= 0 && ix < p.W;
        if (p.max) {
          if (inside) acc = fmaxf(acc, xp[iy * p.W + ix]);
        } else {
          if (inside) acc += xp[iy * p.W + ix];
          count += inside || p.count_include_pad;
        }
      }
    }
    y[i] = p.max ? acc : acc / static_cast<float>(count > 0 ? count : 1);
  }
}

// Softmax and LogSoftmax: model::softmax_line, the CPU executor's own function.
__global__ void softmax_kernel(const float* x, std::int64_t outer, std::int64_t dim, std::int64_t inner, bool log,
                               float* y) {
  const std::int64_t n = outer * inner;
  XBARMC_GRID_STRIDE(i, n) {
    const std::int64_t at = (i / inner) * dim * inner + i % inner;
    model::softmax_line(x + at, y + at, dim, inner, log);
  }
}

__global__ void global_pool_kernel(bool max, const float* x, std::int64_t planes, std::int64_t size, float* y) {
  XBARMC_GRID_STRIDE(i, planes) y[i] = model::global_pool(max, x + i * size, size);
}

__global__ void reduce_kernel(model::Reduce op, const float* x, ReduceDims d, float* y, std::int64_t n) {
  XBARMC_GRID_STRIDE(i, n) y[i] = reduce_output(op, x, d, i);
}

__global__ void index_map_kernel(model::IndexMap mode, const float* x, IndexDims d, float value, float* y,
                                 std::int64_t n) {
  XBARMC_GRID_STRIDE(i, n) y[i] = index_map_output(mode, x, d, value, i);
}

// One warp per row: mean and variance in double (two passes), then the affine map.
__global__ void layer_norm_kernel(const float* x, std::int64_t rows, std::int64_t cols, const float* scale,
                                  const float* bias, float eps, float* y) {
  const std::int64_t warp = (blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= rows) return;
  const float* xr = x + warp * cols;
  float* yr = y + warp * cols;
  double s = 0.0;
  for (std::int64_t c = lane; c < cols; c += 32) s += xr[c];
  for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
  const double mean = s / static_cast<double>(cols);
  double v = 0.0;
  for (std::int64_t c = lane; c < cols; c += 32) {
    const double d = xr[c] - mean;
    v += d * d;
  }
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  const float inv = static_cast<float>(1.0 / sqrt(v / static_cast<double>(cols) + eps));
  const float m = static_cast<float>(mean);
  for (std::int64_t c = lane; c < cols; c += 32) {
    const float z = (xr[c] - m) * inv;
    yr[c] = z * scale[c] + (bias ? bias[c] : 0.0f);
  }
}

__global__ void affine_kernel(const float* x, std::int64_t N, std::int64_t C, std::int64_t inner, const float* a,
                              const float* b, float* y) {
  const std::int64_t n = N * C * inner;
  XBARMC_GRID_STRIDE(i, n) {
    const std::int64_t c = (i / inner) % C;
    y[i] = x[i] * a[c] + b[c];
  }
}

struct MatmulDims {
  int rank;  // of the batch part
  std::int64_t batch[max_rank], sa[max_rank], sb[max_rank];
  std::int64_t n, k, m;
};

__global__ void matmul_kernel(const float* a, const float* b, float* y, MatmulDims d, std::int64_t total) {
  XBARMC_GRID_STRIDE(i, total) {
    const std::int64_t col = i % d.m, row = (i / d.m) % d.n;
    std::int64_t bi = i / (d.m * d.n), oa = 0, ob = 0;
    for (int r = d.rank - 1; r >= 0; --r) {
      const std::int64_t q = bi / d.batch[r];
      oa += (bi - q * d.batch[r]) * d.sa[r];
      ob += (bi - q * d.batch[r]) * d.sb[r];
      bi = q;
    }
    const float* ap = a + oa * d.n * d.k + row * d.k;
    const float* bp = b + ob * d.k * d.m + col;
    float acc = 0.0f;
    for (std::int64_t k = 0; k < d.k; ++k) acc += ap[k] * bp[k * d.m];
    y[i] = acc;
  }
}

}  // namespace

void unary(model::UnaryOp op, const model::UnaryParams& p, const float* x, float* y, std::int64_t n, cudaStream_t s) {
  if (n == 0) return;
  unary_kernel<<<grid_for(n), kBlock, 0, s>>>(op, p, x, y, n);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void binary(Binary op, const float* a, const Shape& sa, const float* b, const Shape& sb, float* y, const Shape& sy,
            cudaStream_t s) {
  const std::int64_t n = numel(sy);
  if (n == 0) return;
  binary_kernel<<<grid_for(n), kBlock, 0, s>>>(op, a, make_bcast(sa, sy), b, make_bcast(sb, sy), y, n);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void where(const std::int64_t* c, const Shape& sc, const float* a, const Shape& sa, const float* b, const Shape& sb,
           float* y, const Shape& sy, cudaStream_t s) {
  const std::int64_t n = numel(sy);
  if (n == 0) return;
  where_kernel<<<grid_for(n), kBlock, 0, s>>>(c, make_bcast(sc, sy), a, make_bcast(sa, sy), b, make_bcast(sb, sy), y,
                                              n);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void where(const float* c, const Shape& sc, const float* a, const Shape& sa, const float* b, const Shape& sb, float* y,
           const Shape& sy, cudaStream_t s) {
  const std::int64_t n = numel(sy);
  if (n == 0) return;
  where_kernel<<<grid_for(n), kBlock, 0, s>>>(c, make_bcast(sc, sy), a, make_bcast(sa, sy), b, make_bcast(sb, sy), y,
                                              n);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void expand(const float* x, const Shape& sx, float* y, const Shape& sy, cudaStream_t s) {
  const std::int64_t n = numel(sy);
  if (n == 0) return;
  expand_kernel<<<grid_for(n), kBlock, 0, s>>>(x, make_bcast(sx, sy), y, n);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void transpose(const float* x, const Shape& sx, const std::vector<std::int64_t>& perm, float* y, cudaStream_t s) {
  if (sx.size() > static_cast<std::size_t>(max_rank)) throw Unsupported("Transpose of rank > 6 on the CUDA backend");
  const Shape st = strides_of(sx);
  Map m{};
  m.rank = static_cast<int>(sx.size());
  for (int d = 0; d < m.rank; ++d) {
    m.out[d] = sx[perm[d]];
    m.stride[d] = st[perm[d]];
  }
  launch_map(x, m, y, numel(sx), s);
}

void gather(const float* x, const Shape& sx, int axis, const std::int64_t* idx, std::int64_t nidx, float* y,
            cudaStream_t s) {
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= sx[d];
  for (std::size_t d = axis + 1; d < sx.size(); ++d) inner *= sx[d];
  const std::int64_t n = outer * nidx * inner;
  if (n == 0) return;
  gather_kernel<<<grid_for(n), kBlock, 0, s>>>(x, outer, sx[axis], inner, idx, nidx, y);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void concat_part(const float* x, const Shape& sx, int axis, std::int64_t offset, float* y, const Shape& sy,
                 cudaStream_t s) {
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= sx[d];
  for (std::size_t d = axis + 1; d < sx.size(); ++d) inner *= sx[d];
  const std::int64_t n = outer * sx[axis] * inner;
  if (n == 0) return;
  concat_kernel<<<grid_for(n), kBlock, 0, s>>>(x, outer, sx[axis], inner, sy[axis], offset, y);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void slice(const float* x, const Shape& sx, const std::vector<std::int64_t>& start,
           const std::vector<std::int64_t>& step, float* y, const Shape& sy, cudaStream_t s) {
  if (sx.size() > static_cast<std::size_t>(max_rank)) throw Unsupported("Slice of rank > 6 on the CUDA backend");
  const Shape st = strides_of(sx);
  Map m{};
  m.rank = static_cast<int>(sx.size());
  m.base = 0;
  for (int d = 0; d < m.rank; ++d) {
    m.out[d] = sy[d];
    m.stride[d] = st[d] * step[d];
    m.base += start[d] * st[d];
  }
  launch_map(x, m, y, numel(sy), s);
}

void pool2d(const Pool& p, const float* x, float* y, cudaStream_t s) {
  const std::int64_t n = p.N * p.C * p.OH * p.OW;
  if (n == 0) return;
  pool_kernel<<<grid_for(n), kBlock, 0, s>>>(p, x, y);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void global_pool(bool max, const float* x, std::int64_t planes, std::int64_t size, float* y, cudaStream_t s) {
  if (planes == 0) return;
  global_pool_kernel<<<grid_for(planes), kBlock, 0, s>>>(max, x, planes, size, y);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void reduce(model::Reduce op, const float* x, const Shape& sx, const std::vector<char>& reduced, float* y,
            cudaStream_t s) {
  if (sx.size() > static_cast<std::size_t>(max_rank)) throw Unsupported("reductions of rank > 6 on the CUDA backend");
  const ReduceDims d = reduce_dims(sx, reduced);
  const std::int64_t n = reduce_outputs(d);
  if (n == 0) return;
  reduce_kernel<<<grid_for(n), kBlock, 0, s>>>(op, x, d, y, n);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void softmax(const float* x, std::int64_t outer, std::int64_t dim, std::int64_t inner, bool log, float* y,
             cudaStream_t s) {
  const std::int64_t n = outer * inner;
  if (n == 0) return;
  softmax_kernel<<<grid_for(n), kBlock, 0, s>>>(x, outer, dim, inner, log, y);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void index_map(model::IndexMap mode, const float* x, const Shape& sx, const std::vector<std::int64_t>& lead,
               float value, float* y, const Shape& sy, cudaStream_t s) {
  if (sy.size() > static_cast<std::size_t>(max_rank)) throw Unsupported("Tile or Pad of rank > 6 on the CUDA backend");
  const IndexDims d = index_dims(sx, lead, sy);
  const std::int64_t n = numel(sy);
  if (n == 0) return;
  index_map_kernel<<<grid_for(n), kBlock, 0, s>>>(mode, x, d, value, y, n);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void layer_norm(const float* x, std::int64_t rows, std::int64_t cols, const float* scale, const float* bias, float eps,
                float* y, cudaStream_t s) {
  if (rows == 0) return;
  const std::int64_t threads = rows * 32;
  layer_norm_kernel<<<static_cast<int>((threads + kBlock - 1) / kBlock), kBlock, 0, s>>>(x, rows, cols, scale, bias,
                                                                                         eps, y);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void channel_affine(const float* x, std::int64_t N, std::int64_t C, std::int64_t inner, const float* a, const float* b,
                    float* y, cudaStream_t s) {
  const std::int64_t n = N * C * inner;
  if (n == 0) return;
  affine_kernel<<<grid_for(n), kBlock, 0, s>>>(x, N, C, inner, a, b, y);
  XBARMC_CUDA_CHECK_LAUNCH();
}

void matmul(const float* a, const Shape& sa, const float* b, const Shape& sb, float* y, const Shape& sy,
            cudaStream_t s) {
  const int r = static_cast<int>(sy.size());
  if (r < 2 || r - 2 > max_rank) throw Unsupported("MatMul of these ranks on the CUDA backend");
  MatmulDims d{};
  d.rank = r - 2;
  d.n = sy[r - 2];
  d.m = sy[r - 1];
  d.k = sa[sa.size() - 1];
  const Bcast ba = make_bcast(Shape(sa.begin(), sa.end() - 2), Shape(sy.begin(), sy.end() - 2));
  const Bcast bb = make_bcast(Shape(sb.begin(), sb.end() - 2), Shape(sy.begin(), sy.end() - 2));
  for (int i = 0; i < d.rank; ++i) {
    d.batch[i] = sy[i];
    d.sa[i] = ba.stride[i];
    d.sb[i] = bb.stride[i];
  }
  const std::int64_t total = numel(sy);
  if (total == 0) return;
  matmul_kernel<<<grid_for(total), kBlock, 0, s>>>(a, b, y, d, total);
  XBARMC_CUDA_CHECK_LAUNCH();
}

}  // namespace xbarmc::cuda::ops
