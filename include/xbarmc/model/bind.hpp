#pragma once
/// \file
/// The bind pass shared by the CPU executor and the GPU network planner: every node
/// bound to concrete shapes for one batch size, shape arithmetic and constant
/// subgraphs folded, and the nodes left to run in topological order.

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "xbarmc/model/model.hpp"
#include "xbarmc/model/ops.hpp"

namespace xbarmc::model {

/// A graph bound for one batch size.
struct BoundGraph {
  /// A node that runs: its index in the graph and its bound op.
  struct Step {
    int node = -1;
    BoundOp bound;
  };
  std::vector<ValueMeta> meta;  ///< per value: type, shape, contents when known before the run
  std::deque<Tensor> folded;    ///< the contents of values folded while binding (stable addresses)
  std::vector<Step> steps;      ///< the nodes that run, in order
};

/// Binds `model`'s graph for inputs of `batch` samples. Nodes whose inputs are all
/// known (and that are not weight layers) and shape-only nodes are evaluated now.
/// Throws what bind_op throws; Error when a value is used before it is defined or the
/// graph output is never computed.
BoundGraph bind_graph(const Model& model, std::int64_t batch);

/// Per value of `bg`: 1 for an int64 activation computed at run time that holds only 0
/// and 1 (a boolean): the output of a comparison, a logical operator, Not or a Cast to
/// bool, and data movement (Reshape, Transpose, Slice, Gather, Concat, Where, ...) or a
/// Cast to an integer type of such values; 0 for every other value. The GPU network keeps
/// booleans as float 0 / 1 and refuses other integer activations.
std::vector<char> boolean_activations(const Model& model, const BoundGraph& bg);

/// True for an operator whose output is its first input's data unchanged (Reshape,
/// Flatten, Squeeze, Unsqueeze, Identity, Dropout at inference): the GPU network lets it
/// alias its input's storage.
bool is_view_op(const std::string& op);

/// Per value of `bg`, bound for `trials` x images samples whose graph input holds the same
/// images for every trial (trial after trial, as the GPU network's input): 1 for a float
/// activation whose storage splits into `trials` equal consecutive blocks, one per trial;
/// 0 for every other value. Such values are the graph input; views of one (is_view_op:
/// the same storage); and the outputs of
/// unary elementwise operators (unary_binding) and of binary elementwise arithmetic (Add,
/// Sub, Mul, Div, Pow, Max, Min, Sum, Mod, PRelu) whose operands are such values of the
/// output's shape or constants that do not vary along the output's first axis, where that
/// axis is a multiple of `trials` long. The GPU network computes the float reference of
/// a crossbar layer whose input is one for the first trial only, and copies it to the
/// others (the same bits: the reference of the same inputs).
std::vector<char> same_per_trial_values(const Model& model, const BoundGraph& bg, int trials);

}  // namespace xbarmc::model
