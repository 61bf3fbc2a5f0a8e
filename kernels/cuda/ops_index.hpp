#pragma once
// The per-output bodies of the GPU's reduction and Tile/Pad kernels (ops_cuda.cu), as
// host/device functions so that the CPU tests run the GPU's own index arithmetic against
// the CPU executor (tests/reference/test_ops_gpu_index.cpp). The arithmetic per element is
// elementwise.hpp's, shared with the CPU executor.

#include <cstdint>
#include <vector>

#include "xbarmc/hd.hpp"
#include "xbarmc/model/elementwise.hpp"

namespace xbarmc::cuda::ops {

constexpr int kIndexMaxRank = 6;

/// A reduction: the kept dims (sizes, input strides) index the outputs; the reduced dims
/// (sizes, input strides) run in row-major order, the input's memory order.
struct ReduceDims {
  int kept = 0, red = 0;
  std::int64_t kept_size[kIndexMaxRank], kept_stride[kIndexMaxRank];
  std::int64_t red_size[kIndexMaxRank], red_stride[kIndexMaxRank];
  std::int64_t count = 1;  // values per output
};

/// Dims of a reduction of an input of shape `sx` over the dims flagged in `reduced`
/// (rank at most kIndexMaxRank; the caller checks).
inline ReduceDims reduce_dims(const std::vector<std::int64_t>& sx, const std::vector<char>& reduced) {
  ReduceDims d{};
  d.count = 1;
  std::int64_t stride = 1;
  std::int64_t st[kIndexMaxRank] = {};
  for (int k = static_cast<int>(sx.size()) - 1; k >= 0; --k) {
    st[k] = stride;
    stride *= sx[k];
  }
  for (std::size_t k = 0; k < sx.size(); ++k) {
    if (reduced[k]) {
      d.red_size[d.red] = sx[k];
      d.red_stride[d.red++] = st[k];
      d.count *= sx[k];
    } else {
      d.kept_size[d.kept] = sx[k];
      d.kept_stride[d.kept++] = st[k];
    }
  }
  return d;
}

inline std::int64_t reduce_outputs(const ReduceDims& d) {
  std::int64_t n = 1;
  for (int k = 0; k < d.kept; ++k) n *= d.kept_size[k];
  return n;
}

/// Output i of the reduction: model::reduce_init/step/finish over its values in order.
XBARMC_HD float reduce_output(model::Reduce op, const float* x, const ReduceDims& d, std::int64_t i) {
  std::int64_t j = i, base = 0;
  for (int k = d.kept - 1; k >= 0; --k) {
    const std::int64_t q = j / d.kept_size[k];
    base += (j - q * d.kept_size[k]) * d.kept_stride[k];
    j = q;
  }
  double a = model::reduce_init(op);
  const std::int64_t last = d.red > 0 ? d.red_size[d.red - 1] : 1;
  const std::int64_t last_stride = d.red > 0 ? d.red_stride[d.red - 1] : 0;
  for (std::int64_t r = 0; r < d.count; r += last) {
    std::int64_t rr = r / last, off = base;
    for (int k = d.red - 2; k >= 0; --k) {
      const std::int64_t q = rr / d.red_size[k];
      off += (rr - q * d.red_size[k]) * d.red_stride[k];
      rr = q;
    }
    for (std::int64_t t = 0; t < last; ++t) a = model::reduce_step(op, a, x[off + t * last_stride]);
  }
  return model::reduce_finish(op, a, d.count);
}

/// Tile or Pad from shape `in` to shape `out`, with `lead` leading pads per dim.
struct IndexDims {
  int rank = 0;
  std::int64_t out[kIndexMaxRank], in[kIndexMaxRank], in_stride[kIndexMaxRank], lead[kIndexMaxRank];
};

inline IndexDims index_dims(const std::vector<std::int64_t>& sx, const std::vector<std::int64_t>& lead,
                            const std::vector<std::int64_t>& sy) {
  IndexDims d{};
  d.rank = static_cast<int>(sy.size());
  std::int64_t stride = 1;
  for (int k = d.rank - 1; k >= 0; --k) {
    d.out[k] = sy[k];
    d.in[k] = sx[k];
    d.in_stride[k] = stride;
    d.lead[k] = lead[k];
    stride *= sx[k];
  }
  return d;
}

/// Output i of Tile or Pad: the input element model::index_map_source names per dim, or
/// `value` where constant padding applies.
XBARMC_HD float index_map_output(model::IndexMap mode, const float* x, const IndexDims& d, float value,
                                 std::int64_t i) {
  std::int64_t j = i, src = 0;
  bool inside = true;
  for (int k = d.rank - 1; k >= 0; --k) {
    const std::int64_t q = j / d.out[k];
    const std::int64_t c = model::index_map_source(mode, j - q * d.out[k], d.in[k], d.lead[k]);
    inside = inside && c >= 0;
    src += c * d.in_stride[k];
    j = q;
  }
  return inside ? x[src] : value;
}

}  // namespace xbarmc::cuda::ops
