#pragma once
/// \file
/// The operators: for each supported ONNX op type, shape inference and a kernel
/// bound to concrete input shapes. The executor binds every node once per batch
/// size (a plan), so broadcasting strides, im2col geometry and the like are worked
/// out before the hot loop, and kernels never allocate.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xbarmc/model/elementwise.hpp"
#include "xbarmc/model/graph.hpp"
#include "xbarmc/model/tensor.hpp"
#include "xbarmc/model/unary.hpp"
#include "xbarmc/model/weight_layer.hpp"

namespace xbarmc::model {

/// What planning knows about a value: type, shape, and its contents when they are
/// known before the run (constants, shapes of activations, and what follows from them).
struct ValueMeta {
  DType dtype = DType::f32;
  Shape shape;
  const Tensor* value = nullptr;  ///< contents, or nullptr for an activation
};

/// What a kernel sees while running.
struct RunContext {
  const std::vector<WeightLayer>* layers = nullptr;  ///< the model's weight layers
  MatmulProvider* provider = nullptr;                ///< nullptr: exact float (sgemm)
  float* scratch = nullptr;                          ///< scratch_floats() floats, 64-byte aligned
};

/// A node bound to concrete input shapes.
class OpKernel {
 public:
  virtual ~OpKernel() = default;
  /// Floats of scratch memory run() needs.
  virtual std::size_t scratch_floats() const { return 0; }
  /// Computes the outputs. `in` and `out` point to one view per node input/output
  /// (omitted optional ones have data == nullptr).
  virtual void run(const TensorView* in, const TensorView* out, RunContext& ctx) = 0;
};

/// How an op relates its output to its input, for buffer planning.
enum class Aliasing {
  none,      ///< output in its own buffer
  view,      ///< output 0 is input 0's data with another shape (Reshape, Flatten, ...); run() does nothing
  in_place,  ///< output 0 may overwrite input 0 when that has the output's shape and dies here
};

/// A bound node: its kernel and its outputs' types and shapes.
struct BoundOp {
  std::unique_ptr<OpKernel> kernel;
  std::vector<ValueMeta> outputs;  ///< dtype and shape (value unset)
  Aliasing aliasing = Aliasing::none;
  bool shape_only = false;  ///< reads only the inputs' shapes (Shape, Size): runs at planning time
};

/// What binding may need beyond the node and its inputs.
struct BindContext {
  std::string source;                                ///< the model file (named in errors)
  int opset = 17;                                    ///< default-domain opset of the model
  const std::vector<WeightLayer>* layers = nullptr;  ///< for weight-layer nodes
  int layer = -1;                                    ///< the node's weight layer, or -1
  bool fused_relu = false;                           ///< apply ReLU to the output (fused by the model builder)
};

/// Binds `node` to inputs `in` (checks types, ranks and shapes; infers the outputs).
/// Throws Unsupported for an unsupported op or attribute, InvalidInput for shapes the
/// op cannot take; messages name the node.
BoundOp bind_op(const Node& node, const std::vector<ValueMeta>& in, const BindContext& ctx);

/// Binds and runs `node` now, on inputs whose contents are known (or, for
/// shape-only ops, whose shapes are known); returns the outputs. Used for constant
/// folding at load time and shape arithmetic at planning time.
std::vector<Tensor> evaluate(const Node& node, const std::vector<ValueMeta>& in, const BindContext& ctx);

/// A unary elementwise node's operator and parameters (attributes, constant Clip
/// bounds, Gelu's approximation), as the CPU executor and the GPU network both apply
/// them with apply_unary; std::nullopt when `node` is not a unary elementwise op.
/// Throws what binding throws for a bound that is not a constant.
struct UnaryBinding {
  UnaryOp op;
  UnaryParams params;
};
std::optional<UnaryBinding> unary_binding(const Node& node, const std::vector<ValueMeta>& in, const BindContext& ctx);

/// A reduction node (ReduceMean, ReduceSum, ...): its operator and the input dims it
/// reduces (`reduced`, one flag per dim; keepdims only shapes the output), or `copy` for
/// noop_with_empty_axes without axes; std::nullopt when `node` is not a reduction. Both
/// backends bind reductions with it.
struct ReduceBinding {
  Reduce op = Reduce::mean;
  std::vector<char> reduced;
  bool copy = false;
};
std::optional<ReduceBinding> reduce_binding(const Node& node, const std::vector<ValueMeta>& in, const BindContext& ctx);

/// A Pad or Tile node: the index map, the leading pads per dim (zeros for Tile) and the
/// constant padding value; std::nullopt for other nodes. Both backends bind them with it.
struct IndexMapBinding {
  IndexMap mode = IndexMap::tile;
  std::vector<std::int64_t> lead;
  double value = 0.0;
  Shape out;
};
std::optional<IndexMapBinding> index_map_binding(const Node& node, const std::vector<ValueMeta>& in,
                                                 const BindContext& ctx);

/// The supported ONNX op types (default domain), sorted.
const std::vector<std::string>& supported_ops();
/// True when `op_type` (default domain) is supported.
bool is_supported(const std::string& op_type);
/// "Abs, Add, ..." for messages.
std::string supported_ops_text();

}  // namespace xbarmc::model
