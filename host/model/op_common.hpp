#pragma once
// Shared helpers of the operator implementations (ops_*.cpp); not a public header.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"
#include "xbarmc/model/ops.hpp"

namespace xbarmc::model::detail {

using Binder = std::function<BoundOp(const Node&, const std::vector<ValueMeta>&, const BindContext&)>;
using Registry = std::map<std::string, Binder>;

void register_elementwise_ops(Registry& r);
void register_shape_ops(Registry& r);
void register_nn_ops(Registry& r);

/// Throws InvalidInput(model file, "node 'name' (Op): what").
[[noreturn]] void fail(const Node& n, const BindContext& c, const std::string& what);
/// Throws Unsupported naming the node.
[[noreturn]] void unsupported(const Node& n, const std::string& what);

/// Checks that input k is given; returns it.
const ValueMeta& input(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c, int k);
/// Input k's value, which must be known at planning time (e.g. a Reshape shape).
const Tensor& constant_input(const Node& n, const std::vector<ValueMeta>& in, const BindContext& c, int k,
                             const char* what);
/// Axis in [-rank, rank) to [0, rank).
int normalize_axis(const Node& n, const BindContext& c, std::int64_t axis, int rank);
/// Multidirectional (numpy) broadcast of two shapes.
Shape broadcast_shapes(const Node& n, const BindContext& c, const Shape& a, const Shape& b);
/// Row-major strides of a shape.
std::vector<std::int64_t> strides_of(const Shape& s);

/// A kernel that does nothing (view ops, ops folded at planning time).
class NoOpKernel : public OpKernel {
 public:
  void run(const TensorView*, const TensorView*, RunContext&) override {}
};

/// Iterates an N-d broadcast between an output and up to 3 operands, collapsing
/// dimensions: the inner loop runs over `inner` elements with per-operand stride 0 or 1.
struct BroadcastPlan {
  static constexpr int kMaxOperands = 3;
  static constexpr int kMaxDims = 8;  ///< after collapsing
  int operands = 0;
  std::int64_t total = 0;
  std::int64_t inner = 1;
  int inner_stride[kMaxOperands] = {1, 1, 1};  ///< 0 or 1
  Shape outer;                                 ///< outer dims (collapsed)
  std::vector<std::int64_t> outer_strides[kMaxOperands];

  /// Plans out_shape from operand shapes (each broadcastable to out_shape).
  BroadcastPlan(const Shape& out_shape, const std::vector<Shape>& operand_shapes);
  /// Calls f(offset of each operand, output offset, inner length, inner strides) per inner run.
  template <typename F>
  void for_each(F&& f) const {
    if (total == 0) return;
    const int nd = static_cast<int>(outer.size());
    std::int64_t idx[kMaxDims] = {};
    std::int64_t off[kMaxOperands] = {0, 0, 0};
    for (std::int64_t o = 0; o < total; o += inner) {
      f(off, o);
      for (int d = nd - 1; d >= 0; --d) {
        ++idx[d];
        for (int k = 0; k < operands; ++k) off[k] += outer_strides[k][d];
        if (idx[d] < outer[d]) break;
        for (int k = 0; k < operands; ++k) off[k] -= outer_strides[k][d] * outer[d];
        idx[d] = 0;
      }
    }
  }
};

}  // namespace xbarmc::model::detail
