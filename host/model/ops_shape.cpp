// Shape and data-movement operators. Shape arithmetic (Shape, Gather, Concat,
// Unsqueeze, ... on int64) runs at planning time, where every shape is known.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "op_common.hpp"
#include "xbarmc/model/elementwise.hpp"

namespace xbarmc::model::detail {

namespace {

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Copies an N-d strided source into a contiguous destination.
class StridedCopy {
 public:
  StridedCopy() = default;
  StridedCopy(const Shape& dims, const std::vector<std::int64_t>& src_strides, std::int64_t src_offset,
              std::size_t elem)
      : offset_(src_offset), elem_(elem), total_(numel(dims)) {
    for (std::size_t d = 0; d < dims.size(); ++d) {
      if (dims[d] == 1) continue;
      if (!dims_.empty() && strides_.back() == src_strides[d] * dims[d]) {
        dims_.back() *= dims[d];
        strides_.back() = src_strides[d];
      } else {
        dims_.push_back(dims[d]);
        strides_.push_back(src_strides[d]);
      }
    }
    if (dims_.empty()) {
      dims_.push_back(1);
      strides_.push_back(1);
    }
    if (dims_.size() > kMaxDims) throw Unsupported("tensors with more than 16 dimensions");
  }
  void run(const void* src, void* dst) const {
    if (total_ == 0) return;
    if (elem_ == 4)
      go(static_cast<const std::uint32_t*>(src), static_cast<std::uint32_t*>(dst));
    else
      go(static_cast<const std::uint64_t*>(src), static_cast<std::uint64_t*>(dst));
  }

 private:
  template <typename T>
  void go(const T* src, T* dst) const {
    const int nd = static_cast<int>(dims_.size());
    const std::int64_t inner = dims_.back(), s = strides_.back();
    std::int64_t idx[kMaxDims] = {};
    std::int64_t off = offset_;
    for (std::int64_t o = 0; o < total_; o += inner) {
      const T* p = src + off;
      if (s == 1)
        std::memcpy(dst + o, p, inner * sizeof(T));
      else
        for (std::int64_t k = 0; k < inner; ++k) dst[o + k] = p[k * s];
      for (int d = nd - 2; d >= 0; --d) {
        off += strides_[d];
        if (++idx[d] < dims_[d]) break;
        off -= strides_[d] * dims_[d];
        idx[d] = 0;
      }
    }
  }
  static constexpr std::size_t kMaxDims = 16;
  Shape dims_;
  std::vector<std::int64_t> strides_;
  std::int64_t offset_ = 0;
  std::size_t elem_ = 4;
  std::int64_t total_ = 0;
};

class StridedCopyKernel : public OpKernel {
 public:
  explicit StridedCopyKernel(StridedCopy c) : copy_(std::move(c)) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override { copy_.run(in[0].data, out[0].data); }

 private:
  StridedCopy copy_;
};

BoundOp view_of_input(const ValueMeta& x, Shape out) {
  BoundOp b;
  b.kernel = std::make_unique<NoOpKernel>();
  b.outputs = {ValueMeta{x.dtype, std::move(out), nullptr}};
  b.aliasing = Aliasing::view;
  return b;
}

/// Axes from input k (opset >= 13 style) or attribute "axes" (older), normalized to `rank`.
std::vector<int> axes_of(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c, int k, int rank,
                         bool* given) {
  std::vector<std::int64_t> raw;
  *given = false;
  if (n.has_input(k)) {
    raw = constant_input(n, in, c, k, "axes").as_ints();
    *given = true;
  } else if (n.has("axes")) {
    raw = n.attr_ints("axes");
    *given = true;
  }
  std::vector<int> axes;
  for (auto a : raw) axes.push_back(normalize_axis(n, c, a, rank));
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) fail(n, c, "repeated axes");
  return axes;
}

// ---------------------------------------------------------------------------
// View ops
// ---------------------------------------------------------------------------
BoundOp bind_identity(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  if (n.op_type == "Dropout" && n.outputs.size() > 1 && n.outputs[1] >= 0)
    unsupported(n, "the mask output of Dropout (export the model in eval mode)");
  return view_of_input(x, x.shape);
}

BoundOp bind_reshape(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const auto target = constant_input(n, in, c, 1, "target shape").as_ints();
  const bool allowzero = n.attr_int("allowzero", 0) != 0;
  Shape out(target.size());
  int infer = -1;
  std::int64_t known = 1;
  for (std::size_t d = 0; d < target.size(); ++d) {
    if (target[d] == -1) {
      if (infer >= 0) fail(n, c, "more than one -1 in the target shape");
      infer = static_cast<int>(d);
      continue;
    }
    if (target[d] == 0 && !allowzero) {
      if (d >= x.shape.size()) fail(n, c, "a 0 in the target shape beyond the input's rank");
      out[d] = x.shape[d];
    } else if (target[d] < 0) {
      fail(n, c, fmt::format("invalid target dimension {}", target[d]));
    } else {
      out[d] = target[d];
    }
    known *= out[d];
  }
  const std::int64_t total = numel(x.shape);
  if (infer >= 0) {
    if (known == 0 || total % known != 0)
      fail(n, c, fmt::format("cannot reshape {} into a shape with {} elements per -1", shape_str(x.shape), known));
    out[infer] = total / known;
  }
  if (numel(out) != total)
    fail(n, c, fmt::format("cannot reshape {} ({} elements) into {}", shape_str(x.shape), total, shape_str(out)));
  return view_of_input(x, out);
}

BoundOp bind_flatten(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const int r = static_cast<int>(x.shape.size());
  std::int64_t axis = n.attr_int("axis", 1);
  if (axis < -r || axis > r) fail(n, c, fmt::format("axis {} is out of range for a rank-{} input", axis, r));
  if (axis < 0) axis += r;
  std::int64_t a = 1, b = 1;
  for (int d = 0; d < r; ++d) (d < axis ? a : b) *= x.shape[d];
  return view_of_input(x, {a, b});
}

BoundOp bind_squeeze(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const int r = static_cast<int>(x.shape.size());
  bool given;
  const auto axes = axes_of(n, in, c, 1, r, &given);
  Shape out;
  for (int d = 0; d < r; ++d) {
    const bool listed = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (listed && x.shape[d] != 1) fail(n, c, fmt::format("cannot squeeze axis {} of size {}", d, x.shape[d]));
    if (listed || (!given && x.shape[d] == 1)) continue;
    out.push_back(x.shape[d]);
  }
  return view_of_input(x, out);
}

BoundOp bind_unsqueeze(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const int r_out = static_cast<int>(x.shape.size()) +
                    static_cast<int>(n.has_input(1) ? constant_input(n, in, c, 1, "axes").size()
                                                    : static_cast<std::int64_t>(n.attr_ints("axes").size()));
  bool given;
  const auto axes = axes_of(n, in, c, 1, r_out, &given);
  if (!given) fail(n, c, "no axes given");
  Shape out;
  std::size_t src = 0;
  for (int d = 0; d < r_out; ++d) {
    if (std::find(axes.begin(), axes.end(), d) != axes.end())
      out.push_back(1);
    else
      out.push_back(x.shape[src++]);
  }
  return view_of_input(x, out);
}

// ---------------------------------------------------------------------------
// Shape, Size, ConstantOfShape, Range, Cast
// ---------------------------------------------------------------------------
class ShapeKernel : public OpKernel {
 public:
  ShapeKernel(std::int64_t start, std::int64_t end, bool size) : start_(start), end_(end), size_(size) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    if (size_) {
      out[0].i()[0] = in[0].size();
      return;
    }
    for (std::int64_t d = start_; d < end_; ++d) out[0].i()[d - start_] = in[0].shape[d];
  }

 private:
  std::int64_t start_, end_;
  bool size_;
};

BoundOp bind_shape(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const std::int64_t r = static_cast<std::int64_t>(x.shape.size());
  BoundOp b;
  b.shape_only = true;
  if (n.op_type == "Size") {
    b.kernel = std::make_unique<ShapeKernel>(0, 0, true);
    b.outputs = {ValueMeta{DType::i64, {}, nullptr}};
    return b;
  }
  std::int64_t start = n.attr_int("start", 0), end = n.attr_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<std::int64_t>(start, 0, r);
  end = std::clamp<std::int64_t>(end, start, r);
  b.kernel = std::make_unique<ShapeKernel>(start, end, false);
  b.outputs = {ValueMeta{DType::i64, {end - start}, nullptr}};
  return b;
}

class FillKernel : public OpKernel {
 public:
  explicit FillKernel(Tensor value) : v_(std::move(value)) {}
  void run(const TensorView*, const TensorView* out, RunContext&) override {
    const std::int64_t n = out[0].size();
    if (v_.dtype == DType::f32)
      std::fill(out[0].f(), out[0].f() + n, v_.f.empty() ? 0.0f : v_.f[0]);
    else
      std::fill(out[0].i(), out[0].i() + n, v_.i.empty() ? 0 : v_.i[0]);
  }

 private:
  Tensor v_;
};

BoundOp bind_constant_of_shape(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const auto shape = constant_input(n, in, c, 0, "shape").as_ints();
  Tensor v = n.has("value") ? n.attrs.at("value").t : Tensor::from_floats({1}, {0.0f});
  BoundOp b;
  b.outputs = {ValueMeta{v.dtype, Shape(shape.begin(), shape.end()), nullptr}};
  b.kernel = std::make_unique<FillKernel>(std::move(v));
  return b;
}

class RangeKernel : public OpKernel {
 public:
  RangeKernel(double start, double delta) : start_(start), delta_(delta) {}
  void run(const TensorView*, const TensorView* out, RunContext&) override {
    const std::int64_t n = out[0].size();
    for (std::int64_t k = 0; k < n; ++k) {
      const double v = start_ + static_cast<double>(k) * delta_;
      if (out[0].dtype == DType::f32)
        out[0].f()[k] = static_cast<float>(v);
      else
        out[0].i()[k] = static_cast<std::int64_t>(v);
    }
  }

 private:
  double start_, delta_;
};

BoundOp bind_range(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const Tensor& s = constant_input(n, in, c, 0, "start");
  const double start = s.at(0);
  const double limit = constant_input(n, in, c, 1, "limit").at(0);
  const double delta = constant_input(n, in, c, 2, "delta").at(0);
  if (delta == 0) fail(n, c, "delta is 0");
  const std::int64_t count = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil((limit - start) / delta)));
  BoundOp b;
  b.kernel = std::make_unique<RangeKernel>(start, delta);
  b.outputs = {ValueMeta{s.dtype, {count}, nullptr}};
  return b;
}

class CastKernel : public OpKernel {
 public:
  CastKernel(DType to, bool to_bool) : to_(to), to_bool_(to_bool) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    const std::int64_t n = out[0].size();
    for (std::int64_t k = 0; k < n; ++k) {
      if (in[0].dtype == DType::f32) {
        const float v = in[0].f()[k];
        if (to_ == DType::f32)
          out[0].f()[k] = v;
        else
          out[0].i()[k] = to_bool_ ? (v != 0.0f) : static_cast<std::int64_t>(v);
      } else {
        const std::int64_t v = in[0].i()[k];
        if (to_ == DType::f32)
          out[0].f()[k] = static_cast<float>(v);
        else
          out[0].i()[k] = to_bool_ ? (v != 0) : v;
      }
    }
  }

 private:
  DType to_;
  bool to_bool_;
};

BoundOp bind_cast(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const std::int64_t to = n.attr_int("to", 1);
  // ONNX TensorProto data types: 1 float, 10 float16, 11 double, 16 bfloat16 -> float32; 9 bool; others integers.
  const bool to_float = to == 1 || to == 10 || to == 11 || to == 16;
  if (to == 8) unsupported(n, "Cast to string");
  BoundOp b;
  b.kernel = std::make_unique<CastKernel>(to_float ? DType::f32 : DType::i64, to == 9);
  b.outputs = {ValueMeta{to_float ? DType::f32 : DType::i64, x.shape, nullptr}};
  return b;
}

// ---------------------------------------------------------------------------
// Transpose, Slice, Expand
// ---------------------------------------------------------------------------
BoundOp bind_transpose(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const int r = static_cast<int>(x.shape.size());
  std::vector<std::int64_t> perm = n.attr_ints("perm");
  if (perm.empty())
    for (int d = r - 1; d >= 0; --d) perm.push_back(d);
  if (static_cast<int>(perm.size()) != r)
    fail(n, c, fmt::format("perm has {} entries for a rank-{} input", perm.size(), r));
  std::vector<char> seen(r, 0);
  const auto st = strides_of(x.shape);
  Shape out(r);
  std::vector<std::int64_t> src(r);
  for (int d = 0; d < r; ++d) {
    const int p = normalize_axis(n, c, perm[d], r);
    if (seen[p]++) fail(n, c, "perm is not a permutation");
    out[d] = x.shape[p];
    src[d] = st[p];
  }
  BoundOp b;
  b.kernel = std::make_unique<StridedCopyKernel>(StridedCopy(out, src, 0, dtype_size(x.dtype)));
  b.outputs = {ValueMeta{x.dtype, out, nullptr}};
  return b;
}

BoundOp bind_slice(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const int r = static_cast<int>(x.shape.size());
  std::vector<std::int64_t> starts, ends, axes, steps;
  if (c.opset < 10) {
    starts = n.attr_ints("starts");
    ends = n.attr_ints("ends");
    axes = n.attr_ints("axes");
  } else {
    starts = constant_input(n, in, c, 1, "starts").as_ints();
    ends = constant_input(n, in, c, 2, "ends").as_ints();
    if (n.has_input(3)) axes = constant_input(n, in, c, 3, "axes").as_ints();
    if (n.has_input(4)) steps = constant_input(n, in, c, 4, "steps").as_ints();
  }
  if (axes.empty())
    for (std::size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<std::int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    fail(n, c, "starts, ends, axes and steps have different lengths");
  Shape out = x.shape;
  const auto st = strides_of(x.shape);
  std::vector<std::int64_t> src = st;
  std::int64_t offset = 0;
  std::vector<char> seen(r, 0);
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const int a = normalize_axis(n, c, axes[k], r);
    if (seen[a]++) fail(n, c, "an axis is sliced twice");
    const std::int64_t dim = x.shape[a], step = steps[k];
    if (step == 0) fail(n, c, "step 0");
    std::int64_t s = starts[k], e = ends[k];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    std::int64_t len;
    if (step > 0) {
      s = std::clamp<std::int64_t>(s, 0, dim);
      e = std::clamp<std::int64_t>(e, 0, dim);
      len = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<std::int64_t>(s, 0, dim - 1);
      e = std::clamp<std::int64_t>(e, -1, dim - 1);
      len = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    out[a] = len;
    offset += (len > 0 ? s : 0) * st[a];
    src[a] = st[a] * step;
  }
  BoundOp b;
  b.kernel = std::make_unique<StridedCopyKernel>(StridedCopy(out, src, offset, dtype_size(x.dtype)));
  b.outputs = {ValueMeta{x.dtype, out, nullptr}};
  return b;
}

BoundOp bind_expand(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const auto target = constant_input(n, in, c, 1, "shape").as_ints();
  const Shape out = broadcast_shapes(n, c, x.shape, Shape(target.begin(), target.end()));
  const int r = static_cast<int>(out.size());
  const int off = r - static_cast<int>(x.shape.size());
  const auto st = strides_of(x.shape);
  std::vector<std::int64_t> src(r, 0);
  for (int d = off; d < r; ++d) src[d] = x.shape[d - off] == 1 ? 0 : st[d - off];
  BoundOp b;
  b.kernel = std::make_unique<StridedCopyKernel>(StridedCopy(out, src, 0, dtype_size(x.dtype)));
  b.outputs = {ValueMeta{x.dtype, out, nullptr}};
  return b;
}

// ---------------------------------------------------------------------------
// Concat, Split, Gather
// ---------------------------------------------------------------------------
class ConcatKernel : public OpKernel {
 public:
  ConcatKernel(std::int64_t outer, std::vector<std::int64_t> chunks, std::size_t elem)
      : outer_(outer), chunks_(std::move(chunks)), elem_(elem) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    char* dst = static_cast<char*>(out[0].data);
    for (std::int64_t o = 0; o < outer_; ++o)
      for (std::size_t k = 0; k < chunks_.size(); ++k) {
        const std::size_t bytes = chunks_[k] * elem_;
        std::memcpy(dst, static_cast<const char*>(in[k].data) + o * bytes, bytes);
        dst += bytes;
      }
  }

 private:
  std::int64_t outer_;
  std::vector<std::int64_t> chunks_;  ///< elements per outer index, per input
  std::size_t elem_;
};

BoundOp bind_concat(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x0 = input(n, in, c, 0);
  const int r = static_cast<int>(x0.shape.size());
  const int axis = normalize_axis(n, c, n.attr_int("axis", 0), r);
  Shape out = x0.shape;
  out[axis] = 0;
  std::vector<std::int64_t> chunks;
  for (int k = 0; k < n.input_count(); ++k) {
    const ValueMeta& x = input(n, in, c, k);
    if (x.dtype != x0.dtype) fail(n, c, "inputs of different types");
    if (static_cast<int>(x.shape.size()) != r) fail(n, c, "inputs of different ranks");
    for (int d = 0; d < r; ++d)
      if (d != axis && x.shape[d] != x0.shape[d])
        fail(n, c,
             fmt::format("input shapes {} and {} differ outside axis {}", shape_str(x0.shape), shape_str(x.shape),
                         axis));
    out[axis] += x.shape[axis];
    std::int64_t chunk = 1;
    for (int d = axis; d < r; ++d) chunk *= x.shape[d];
    chunks.push_back(chunk);
  }
  std::int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= x0.shape[d];
  BoundOp b;
  b.kernel = std::make_unique<ConcatKernel>(outer, std::move(chunks), dtype_size(x0.dtype));
  b.outputs = {ValueMeta{x0.dtype, out, nullptr}};
  return b;
}

class SplitKernel : public OpKernel {
 public:
  SplitKernel(std::int64_t outer, std::vector<std::int64_t> chunks, std::size_t elem)
      : outer_(outer), chunks_(std::move(chunks)), elem_(elem) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    const char* src = static_cast<const char*>(in[0].data);
    for (std::int64_t o = 0; o < outer_; ++o)
      for (std::size_t k = 0; k < chunks_.size(); ++k) {
        const std::size_t bytes = chunks_[k] * elem_;
        if (out[k].data) std::memcpy(static_cast<char*>(out[k].data) + o * bytes, src, bytes);
        src += bytes;
      }
  }

 private:
  std::int64_t outer_;
  std::vector<std::int64_t> chunks_;
  std::size_t elem_;
};

BoundOp bind_split(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const int r = static_cast<int>(x.shape.size());
  const int axis = normalize_axis(n, c, n.attr_int("axis", 0), r);
  const int outs = static_cast<int>(n.outputs.size());
  std::vector<std::int64_t> sizes;
  if (n.has_input(1))
    sizes = constant_input(n, in, c, 1, "split").as_ints();
  else if (n.has("split"))
    sizes = n.attr_ints("split");
  if (sizes.empty()) {  // equal parts (the last one smaller when it does not divide, as opset 18 says)
    const std::int64_t part = (x.shape[axis] + outs - 1) / outs;
    for (int k = 0; k < outs; ++k) sizes.push_back(std::min(part, x.shape[axis] - part * k));
  }
  if (static_cast<int>(sizes.size()) != outs) fail(n, c, "the split sizes do not match the number of outputs");
  if (std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0}) != x.shape[axis])
    fail(n, c, fmt::format("split sizes do not add up to {}", x.shape[axis]));
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int d = axis + 1; d < r; ++d) inner *= x.shape[d];
  BoundOp b;
  std::vector<std::int64_t> chunks;
  for (auto s : sizes) {
    Shape o = x.shape;
    o[axis] = s;
    b.outputs.push_back(ValueMeta{x.dtype, o, nullptr});
    chunks.push_back(s * inner);
  }
  b.kernel = std::make_unique<SplitKernel>(outer, std::move(chunks), dtype_size(x.dtype));
  return b;
}

class GatherKernel : public OpKernel {
 public:
  GatherKernel(std::int64_t outer, std::int64_t axis_dim, std::int64_t inner, std::vector<std::int64_t> idx,
               std::size_t elem)
      : outer_(outer), axis_dim_(axis_dim), inner_(inner), idx_(std::move(idx)), elem_(elem) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    const char* src = static_cast<const char*>(in[0].data);
    char* dst = static_cast<char*>(out[0].data);
    const std::size_t bytes = inner_ * elem_;
    for (std::int64_t o = 0; o < outer_; ++o)
      for (auto i : idx_) {
        std::memcpy(dst, src + (o * axis_dim_ + i) * bytes, bytes);
        dst += bytes;
      }
  }

 private:
  std::int64_t outer_, axis_dim_, inner_;
  std::vector<std::int64_t> idx_;
  std::size_t elem_;
};

BoundOp bind_gather(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  const Tensor& indices = constant_input(n, in, c, 1, "indices");
  const int r = static_cast<int>(x.shape.size());
  const int axis = normalize_axis(n, c, n.attr_int("axis", 0), r);
  auto idx = indices.as_ints();
  for (auto& i : idx) {
    if (i < -x.shape[axis] || i >= x.shape[axis])
      fail(n, c, fmt::format("index {} is out of range for axis {} of size {}", i, axis, x.shape[axis]));
    if (i < 0) i += x.shape[axis];
  }
  Shape out(x.shape.begin(), x.shape.begin() + axis);
  out.insert(out.end(), indices.shape.begin(), indices.shape.end());
  out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int d = axis + 1; d < r; ++d) inner *= x.shape[d];
  BoundOp b;
  b.kernel = std::make_unique<GatherKernel>(outer, x.shape[axis], inner, std::move(idx), dtype_size(x.dtype));
  b.outputs = {ValueMeta{x.dtype, out, nullptr}};
  return b;
}

// ---------------------------------------------------------------------------
// Tile, Pad (per-element index arithmetic: rare in classification networks)
// ---------------------------------------------------------------------------
class IndexMapKernel : public OpKernel {
 public:
  using Mode = IndexMap;  // elementwise.hpp (shared with the GPU)
  IndexMapKernel(Mode m, Shape in_shape, Shape out_shape, std::vector<std::int64_t> lead, double value)
      : mode_(m),
        in_(std::move(in_shape)),
        out_(std::move(out_shape)),
        lead_(std::move(lead)),
        value_(value),
        in_st_(strides_of(in_)),
        idx_(out_.size()) {}
  void run(const TensorView* in, const TensorView* out, RunContext&) override {
    const int r = static_cast<int>(out_.size());
    const auto& in_st = in_st_;
    const std::int64_t total = numel(out_);
    auto& idx = idx_;
    std::fill(idx.begin(), idx.end(), 0);
    for (std::int64_t o = 0; o < total; ++o) {
      std::int64_t src = 0;
      bool inside = true;
      for (int d = 0; d < r; ++d) {
        const std::int64_t i = index_map_source(mode_, idx[d], in_[d], lead_[d]);
        inside = inside && i >= 0;
        src += i * in_st[d];
      }
      if (in[0].dtype == DType::f32)
        out[0].f()[o] = inside ? in[0].f()[src] : static_cast<float>(value_);
      else
        out[0].i()[o] = inside ? in[0].i()[src] : static_cast<std::int64_t>(value_);
      for (int d = r - 1; d >= 0; --d) {
        if (++idx[d] < out_[d]) break;
        idx[d] = 0;
      }
    }
  }

 private:
  Mode mode_;
  Shape in_, out_;
  std::vector<std::int64_t> lead_;
  double value_;
  std::vector<std::int64_t> in_st_;
  std::vector<std::int64_t> idx_;  // scratch: a kernel belongs to one executor (one thread)
};

BoundOp bind_index_map(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c) {
  const ValueMeta& x = input(n, in, c, 0);
  IndexMapBinding m = *index_map_binding(n, in, c);
  BoundOp b;
  b.outputs = {ValueMeta{x.dtype, m.out, nullptr}};
  b.kernel = std::make_unique<IndexMapKernel>(m.mode, x.shape, std::move(m.out), std::move(m.lead), m.value);
  return b;
}

}  // namespace

void register_shape_ops(Registry& r) {
  r["Identity"] = bind_identity;
  r["Dropout"] = bind_identity;
  r["Reshape"] = bind_reshape;
  r["Flatten"] = bind_flatten;
  r["Squeeze"] = bind_squeeze;
  r["Unsqueeze"] = bind_unsqueeze;
  r["Shape"] = bind_shape;
  r["Size"] = bind_shape;
  r["ConstantOfShape"] = bind_constant_of_shape;
  r["Range"] = bind_range;
  r["Cast"] = bind_cast;
  r["Transpose"] = bind_transpose;
  r["Slice"] = bind_slice;
  r["Expand"] = bind_expand;
  r["Concat"] = bind_concat;
  r["Split"] = bind_split;
  r["Gather"] = bind_gather;
  r["Tile"] = bind_index_map;
  r["Pad"] = bind_index_map;
}

}  // namespace xbarmc::model::detail

namespace xbarmc::model {

std::optional<IndexMapBinding> index_map_binding(const Node& n, const std::vector<ValueMeta>& in,
                                                 const BindContext& c) {
  using detail::constant_input;
  using detail::fail;
  using detail::unsupported;
  if (n.op_type != "Tile" && n.op_type != "Pad") return std::nullopt;
  const ValueMeta& x = detail::input(n, in, c, 0);
  const int r = static_cast<int>(x.shape.size());
  IndexMapBinding b;
  b.out = x.shape;
  b.lead.assign(r, 0);
  if (n.op_type == "Tile") {
    const auto rep = constant_input(n, in, c, 1, "repeats").as_ints();
    if (rep.size() != x.shape.size()) fail(n, c, "repeats must have one entry per input dimension");
    for (int d = 0; d < r; ++d) {
      if (rep[d] < 0) fail(n, c, fmt::format("repeats[{}] = {} is negative", d, rep[d]));
      b.out[d] *= rep[d];
    }
    b.mode = IndexMap::tile;
    return b;
  }
  std::vector<std::int64_t> pads;
  if (c.opset < 11) {
    pads = n.attr_ints("pads");
    b.value = n.attr_float("value", 0.0f);
  } else {
    pads = constant_input(n, in, c, 1, "pads").as_ints();
    if (n.has_input(2)) b.value = constant_input(n, in, c, 2, "constant value").at(0);
  }
  std::vector<std::int64_t> trail(r, 0);
  if (n.has_input(3)) {  // opset 18: axes
    const auto axes = constant_input(n, in, c, 3, "axes").as_ints();
    if (pads.size() != 2 * axes.size()) fail(n, c, "pads must have two entries per axis");
    for (std::size_t k = 0; k < axes.size(); ++k) {
      const int a = detail::normalize_axis(n, c, axes[k], r);
      b.lead[a] = pads[k];
      trail[a] = pads[k + axes.size()];
    }
  } else {
    if (static_cast<int>(pads.size()) != 2 * r) fail(n, c, "pads must have two entries per dimension");
    for (int d = 0; d < r; ++d) {
      b.lead[d] = pads[d];
      trail[d] = pads[d + r];
    }
  }
  const std::string mode = n.attr_text("mode", "constant");
  b.mode = IndexMap::pad_constant;
  if (mode == "reflect")
    b.mode = IndexMap::pad_reflect;
  else if (mode == "edge")
    b.mode = IndexMap::pad_edge;
  else if (mode != "constant")
    unsupported(n, fmt::format("pad mode '{}'", mode));
  for (int d = 0; d < r; ++d) {
    if (b.lead[d] < 0 || trail[d] < 0) unsupported(n, "negative pads (cropping)");
    if (b.mode != IndexMap::pad_constant && x.shape[d] == 0 && b.lead[d] + trail[d] > 0)
      fail(n, c, fmt::format("{} padding of an empty dimension {}", mode, d));
    b.out[d] += b.lead[d] + trail[d];
  }
  return b;
}

}  // namespace xbarmc::model
