#pragma once
// The digital operators of a network on the GPU (everything but the weight layers,
// which are crossbar layers): elementwise with broadcasting, pooling, reductions,
// softmax, layer normalization, data movement and activation-by-activation
// products. Float32 throughout, like the CPU executor.

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "xbarmc/model/elementwise.hpp"
#include "xbarmc/model/unary.hpp"

namespace xbarmc::cuda::ops {

using Shape = std::vector<std::int64_t>;

constexpr int max_rank = 6;

/// Binary operators with ONNX (numpy) broadcasting: model::apply_binary, the CPU
/// executor's own function; comparisons and logical operators by model::apply_compare,
/// their booleans as float 0 / 1.
using Binary = model::BinaryOp;

/// y = model::apply_unary(op, x, p) elementwise (the CPU executor's own function).
void unary(model::UnaryOp op, const model::UnaryParams& p, const float* x, float* y, std::int64_t n, cudaStream_t s);
void binary(Binary op, const float* a, const Shape& sa, const float* b, const Shape& sb, float* y, const Shape& sy,
            cudaStream_t s);
/// Where: y = c ? a : b with broadcasting (c: a mask known before the run, booleans as
/// int64; or a boolean activation, float 0 / 1; device memory).
void where(const std::int64_t* c, const Shape& sc, const float* a, const Shape& sa, const float* b, const Shape& sb,
           float* y, const Shape& sy, cudaStream_t s);
void where(const float* c, const Shape& sc, const float* a, const Shape& sa, const float* b, const Shape& sb, float* y,
           const Shape& sy, cudaStream_t s);
/// y (shape sy) = x broadcast (Expand).
void expand(const float* x, const Shape& sx, float* y, const Shape& sy, cudaStream_t s);
void transpose(const float* x, const Shape& sx, const std::vector<std::int64_t>& perm, float* y, cudaStream_t s);
/// Gather along `axis` with int64 indices (device memory, negatives wrap).
void gather(const float* x, const Shape& sx, int axis, const std::int64_t* idx, std::int64_t nidx, float* y,
            cudaStream_t s);
/// Copies x (shape sx) into y (shape sy) at offset `offset` along `axis` (one Concat input).
void concat_part(const float* x, const Shape& sx, int axis, std::int64_t offset, float* y, const Shape& sy,
                 cudaStream_t s);
/// y[i] = x[start + i * step] per dimension (Slice, normalized).
void slice(const float* x, const Shape& sx, const std::vector<std::int64_t>& start,
           const std::vector<std::int64_t>& step, float* y, const Shape& sy, cudaStream_t s);
/// 2-D max or average pooling on N x C x H x W.
struct Pool {
  std::int64_t N, C, H, W, OH, OW, kh, kw, sh, sw, pt, pl, dh = 1, dw = 1;
  bool max = true;
  bool count_include_pad = false;
};
void pool2d(const Pool& p, const float* x, float* y, cudaStream_t s);
/// GlobalMaxPool (max) or GlobalAveragePool of each of `planes` planes of `size` values:
/// model::global_pool, the CPU executor's own function.
void global_pool(bool max, const float* x, std::int64_t planes, std::int64_t size, float* y, cudaStream_t s);
/// Reduce* over the dims of `sx` where `reduced` is nonzero (any set of axes; keepdims
/// does not change the data): model::reduce_init/step/finish in double, in the input's
/// memory order, as the CPU executor does.
void reduce(model::Reduce op, const float* x, const Shape& sx, const std::vector<char>& reduced, float* y,
            cudaStream_t s);
/// Softmax (log: LogSoftmax) over the middle axis of [outer, dim, inner].
void softmax(const float* x, std::int64_t outer, std::int64_t dim, std::int64_t inner, bool log, float* y,
             cudaStream_t s);
/// Tile and Pad: y (shape sy) from x (shape sx) by model::index_map_source per dimension
/// (`lead`: leading pads, zeros for Tile); `value` where constant padding applies.
void index_map(model::IndexMap mode, const float* x, const Shape& sx, const std::vector<std::int64_t>& lead,
               float value, float* y, const Shape& sy, cudaStream_t s);
/// Layer normalization of rows of length `cols`, scale and bias (length cols, bias may be null).
void layer_norm(const float* x, std::int64_t rows, std::int64_t cols, const float* scale, const float* bias, float eps,
                float* y, cudaStream_t s);
/// Inference batch normalization on [N, C, inner]: y = x * a[c] + b[c].
void channel_affine(const float* x, std::int64_t N, std::int64_t C, std::int64_t inner, const float* a, const float* b,
                    float* y, cudaStream_t s);
/// Batched product of activations: A [batch..., n, k] x B [batch..., k, m] with broadcast
/// batch dims (sa, sb padded to the output's rank).
void matmul(const float* a, const Shape& sa, const float* b, const Shape& sb, float* y, const Shape& sy,
            cudaStream_t s);

}  // namespace xbarmc::cuda::ops
