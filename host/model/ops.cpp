#include "xbarmc/model/ops.hpp"

#include <algorithm>

#include "op_common.hpp"

namespace xbarmc::model {

namespace detail {

void fail(const Node& n, const BindContext& c, const std::string& what) {
  throw InvalidInput(c.source, fmt::format("node '{}' ({}): {}", n.name, n.op_type, what));
}

void unsupported(const Node& n, const std::string& what) {
  throw Unsupported(fmt::format("node '{}' ({}): {}", n.name, n.op_type, what));
}

const ValueMeta& input(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c, int k) {
  if (!n.has_input(k) || k >= static_cast<int>(in.size()))
    fail(n, c, fmt::format("input {} is required but missing", k + 1));
  return in[k];
}

const Tensor& constant_input(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c, int k,
                             const char* what) {
  const ValueMeta& m = input(n, in, c, k);
  if (!m.value)
    unsupported(n, fmt::format("its {} (input {}) must be computable before the run (a constant or derived from "
                               "shapes); data-dependent {} are not supported",
                               what, k + 1, what));
  return *m.value;
}

int normalize_axis(const Node& n, const BindContext& c, std::int64_t axis, int rank) {
  if (axis < -rank || axis >= std::max(rank, 1))
    fail(n, c, fmt::format("axis {} is out of range for a rank-{} input", axis, rank));
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

Shape broadcast_shapes(const Node& n, const BindContext& c, const Shape& a, const Shape& b) {
  const std::size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (std::size_t k = 0; k < r; ++k) {
    const std::int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
    const std::int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      fail(n, c, fmt::format("shapes {} and {} cannot be broadcast together", shape_str(a), shape_str(b)));
    out[k] = da == 1 ? db : da;
  }
  return out;
}

std::vector<std::int64_t> strides_of(const Shape& s) {
  std::vector<std::int64_t> st(s.size(), 1);
  for (int d = static_cast<int>(s.size()) - 2; d >= 0; --d) st[d] = st[d + 1] * s[d + 1];
  return st;
}

BroadcastPlan::BroadcastPlan(const Shape& out_shape, const std::vector<Shape>& operand_shapes) {
  operands = static_cast<int>(operand_shapes.size());
  total = numel(out_shape);
  const int r = static_cast<int>(out_shape.size());
  // Per operand, strides over the output's dims (0 where broadcast).
  std::vector<std::vector<std::int64_t>> st(operands, std::vector<std::int64_t>(r, 0));
  for (int k = 0; k < operands; ++k) {
    const Shape& s = operand_shapes[k];
    const auto ss = strides_of(s);
    const int off = r - static_cast<int>(s.size());
    for (int d = 0; d < r; ++d) st[k][d] = (d < off || s[d - off] == 1) ? 0 : ss[d - off];
  }
  // Collapse: drop size-1 dims; merge a dim into the next when every operand is contiguous across them.
  Shape dims;
  std::vector<std::vector<std::int64_t>> cst(operands);
  for (int d = 0; d < r; ++d) {
    if (out_shape[d] == 1) continue;
    bool merge = !dims.empty();
    for (int k = 0; k < operands && merge; ++k) merge = cst[k].back() == st[k][d] * out_shape[d];
    if (merge) {
      dims.back() *= out_shape[d];
      for (int k = 0; k < operands; ++k) cst[k].back() = st[k][d];
    } else {
      dims.push_back(out_shape[d]);
      for (int k = 0; k < operands; ++k) cst[k].push_back(st[k][d]);
    }
  }
  if (dims.empty()) {
    inner = 1;
    for (int k = 0; k < operands; ++k) inner_stride[k] = 0;
    return;
  }
  inner = dims.back();
  for (int k = 0; k < operands; ++k) inner_stride[k] = static_cast<int>(cst[k].back());
  outer.assign(dims.begin(), dims.end() - 1);
  if (outer.size() > static_cast<std::size_t>(kMaxDims))
    throw Unsupported(fmt::format("broadcasting over more than {} non-contiguous dimensions", kMaxDims));
  for (int k = 0; k < operands; ++k) outer_strides[k].assign(cst[k].begin(), cst[k].end() - 1);
}

}  // namespace detail

namespace {

const detail::Registry& registry() {
  static const detail::Registry r = [] {
    detail::Registry reg;
    detail::register_elementwise_ops(reg);
    detail::register_shape_ops(reg);
    detail::register_nn_ops(reg);
    return reg;
  }();
  return r;
}

}  // namespace

BoundOp bind_op(const Node& node, const std::vector<ValueMeta>& in, const BindContext& ctx) {
  if (!node.domain.empty())
    throw Unsupported(
        fmt::format("node '{}': operator {} of domain '{}' is not supported; supported (default ONNX "
                    "domain): {}",
                    node.name, node.op_type, node.domain, supported_ops_text()));
  const auto& reg = registry();
  auto it = reg.find(node.op_type);
  if (it == reg.end())
    throw Unsupported(fmt::format("node '{}': operator {} is not supported; supported: {}", node.name, node.op_type,
                                  supported_ops_text()));
  return it->second(node, in, ctx);
}

std::vector<Tensor> evaluate(const Node& node, const std::vector<ValueMeta>& in, const BindContext& ctx) {
  BoundOp b = bind_op(node, in, ctx);
  std::vector<Tensor> outs;
  if (b.aliasing == Aliasing::view) {
    Tensor t = *in[0].value;
    t.shape = b.outputs[0].shape;
    outs.push_back(std::move(t));
    return outs;
  }
  std::vector<TensorView> iv, ov;
  for (const auto& m : in)
    iv.push_back(TensorView{m.dtype, m.shape, m.value ? const_cast<void*>(m.value->data()) : nullptr});
  for (const auto& m : b.outputs) outs.emplace_back(m.dtype, m.shape);
  for (auto& t : outs) ov.push_back(TensorView{t.dtype, t.shape, t.data()});
  std::vector<float> scratch(b.kernel->scratch_floats() + 16);
  RunContext rc;
  rc.layers = ctx.layers;
  rc.scratch = scratch.data();
  b.kernel->run(iv.data(), ov.data(), rc);
  return outs;
}

const std::vector<std::string>& supported_ops() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v{"Constant"};  // folded on import
    for (const auto& [name, binder] : registry()) v.push_back(name);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return names;
}

bool is_supported(const std::string& op_type) {
  const auto& v = supported_ops();
  return std::binary_search(v.begin(), v.end(), op_type);
}

std::string supported_ops_text() {
  std::string s;
  for (const auto& n : supported_ops()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace xbarmc::model
