#include "xbarmc/model/bind.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string>

#include "xbarmc/errors.hpp"

namespace xbarmc::model {

BoundGraph bind_graph(const Model& model, std::int64_t batch) {
  const Graph& g = model.graph();
  const int V = static_cast<int>(g.value_names.size());
  BoundGraph r;
  r.meta.assign(V, ValueMeta{});
  std::vector<char> known(V, 0);  // meta[v] is set
  for (const auto& [v, t] : g.constants) {
    r.meta[v] = ValueMeta{t.dtype, t.shape, &t};
    known[v] = 1;
  }
  Shape in_shape{batch};
  for (auto d : model.input_shape()) in_shape.push_back(d);
  r.meta[g.input] = ValueMeta{DType::f32, in_shape, nullptr};
  known[g.input] = 1;

  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& n = g.nodes[k];
    std::vector<ValueMeta> in;
    bool all_known = true;
    for (int v : n.inputs) {
      if (v < 0) {
        in.emplace_back();
        continue;
      }
      if (!known[v]) throw Error(fmt::format("internal: value '{}' used before it is defined", g.value_names[v]));
      in.push_back(r.meta[v]);
      all_known = all_known && r.meta[v].value != nullptr;
    }
    BindContext ctx;
    ctx.source = model.path();
    ctx.opset = g.opset;
    ctx.layers = &model.weight_layers();
    ctx.layer = model.node_layer(static_cast<int>(k));
    ctx.fused_relu = model.node_fused_relu(static_cast<int>(k));
    BoundOp b = bind_op(n, in, ctx);
    if (b.shape_only || (all_known && ctx.layer < 0)) {
      std::vector<Tensor> outs = evaluate(n, in, ctx);
      for (std::size_t o = 0; o < outs.size() && o < n.outputs.size(); ++o) {
        if (n.outputs[o] < 0) continue;
        r.folded.push_back(std::move(outs[o]));
        const Tensor& t = r.folded.back();
        r.meta[n.outputs[o]] = ValueMeta{t.dtype, t.shape, &t};
        known[n.outputs[o]] = 1;
      }
      continue;
    }
    for (std::size_t o = 0; o < b.outputs.size() && o < n.outputs.size(); ++o) {
      if (n.outputs[o] < 0) continue;
      r.meta[n.outputs[o]] = b.outputs[o];
      known[n.outputs[o]] = 1;
    }
    r.steps.push_back(BoundGraph::Step{static_cast<int>(k), std::move(b)});
  }
  if (!known[g.output]) throw Error("internal: the graph output is never computed");
  return r;
}

namespace {

// A constant that holds only 0 and 1.
bool zero_one(const Tensor& t) {
  if (t.dtype == DType::i64)
    return std::all_of(t.i.begin(), t.i.end(), [](std::int64_t v) { return v == 0 || v == 1; });
  return std::all_of(t.f.begin(), t.f.end(), [](float v) { return v == 0.0f || v == 1.0f; });
}

}  // namespace

std::vector<char> boolean_activations(const Model& model, const BoundGraph& bg) {
  static const std::set<std::string> comparisons = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
                                                    "And",   "Or",   "Xor",     "Not"};
  // Operators that only move or select their data inputs' elements: inputs 0 .. n - 1
  // (Concat: all; Where: 1 and 2; the others: 0).
  static const std::set<std::string> movement = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Transpose",
                                                 "Slice",   "Expand",  "Tile",    "Gather",    "Split",    "Concat"};
  const Graph& g = model.graph();
  std::vector<char> boolean(bg.meta.size(), 0);
  // An input that holds only 0 and 1: a boolean activation or such a constant.
  const auto zero_one_input = [&](int v) {
    if (v < 0) return true;
    if (bg.meta[v].value) return zero_one(*bg.meta[v].value);
    return boolean[v] != 0;
  };
  for (const auto& st : bg.steps) {
    const Node& n = g.nodes[st.node];
    bool b = false;
    if (comparisons.count(n.op_type)) {
      b = true;
    } else if (n.op_type == "Cast") {
      const std::int64_t to = n.attr_int("to", 1);
      b = to == 9 || zero_one_input(n.inputs[0]);
    } else if (n.op_type == "Where") {
      b = zero_one_input(n.inputs[1]) && zero_one_input(n.inputs[2]);
    } else if (movement.count(n.op_type)) {
      // (a node whose data inputs are all constants was folded while binding)
      b = n.op_type == "Concat" ? std::all_of(n.inputs.begin(), n.inputs.end(), zero_one_input)
                                : !n.inputs.empty() && n.inputs[0] >= 0 && boolean[n.inputs[0]];
    }
    if (!b) continue;
    for (int v : n.outputs)
      if (v >= 0 && bg.meta[v].dtype == DType::i64 && !bg.meta[v].value) boolean[v] = 1;
  }
  return boolean;
}

bool is_view_op(const std::string& op) {
  return op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" || op == "Identity" ||
         op == "Dropout";
}

std::vector<char> same_per_trial_values(const Model& model, const BoundGraph& bg, int trials) {
  static const std::set<std::string> arithmetic = {"Add", "Sub", "Mul", "Div", "Pow",
                                                   "Max", "Min", "Sum", "Mod", "PRelu"};
  const Graph& g = model.graph();
  std::vector<char> same(bg.meta.size(), 0);
  if (trials < 1) return same;
  const auto is_float_activation = [&](int v) { return v >= 0 && !bg.meta[v].value && bg.meta[v].dtype == DType::f32; };
  if (is_float_activation(g.input)) same[g.input] = 1;
  BindContext ctx;
  ctx.source = model.path();
  ctx.opset = g.opset;
  for (const auto& st : bg.steps) {
    const Node& n = g.nodes[st.node];
    if (model.node_layer(st.node) >= 0 || n.outputs.empty() || !is_float_activation(n.outputs[0])) continue;
    const int y = n.outputs[0];
    const Shape& ys = bg.meta[y].shape;
    const int in0 = n.inputs.empty() ? -1 : n.inputs[0];
    bool s = false;
    if (is_view_op(n.op_type)) {
      s = in0 >= 0 && same[in0];  // the same storage
    } else if (arithmetic.count(n.op_type)) {
      // Every operand: a same-per-trial value of the output's shape, or a constant
      // broadcast along the output's first axis (of lower rank, or 1 long there); and no
      // row of that axis spans two trials.
      s = !ys.empty() && ys[0] % trials == 0;
      bool any_activation = false;
      for (int v : n.inputs) {
        if (v < 0) continue;
        const ValueMeta& m = bg.meta[v];
        if (m.value) {
          s = s && (m.shape.size() < ys.size() || m.shape[0] == 1);
        } else {
          any_activation = true;
          s = s && same[v] && m.shape == ys;
        }
      }
      s = s && any_activation;
    } else if (in0 >= 0 && same[in0] && bg.meta[in0].shape == ys) {
      std::vector<ValueMeta> in;
      for (int v : n.inputs) in.push_back(v >= 0 ? bg.meta[v] : ValueMeta{});
      try {  // a unary elementwise operator
        s = unary_binding(n, in, ctx).has_value();
      } catch (const Error&) {
        s = false;  // (a bound that is not a constant: refused where the node is planned)
      }
    }
    same[y] = s ? 1 : 0;
  }
  return same;
}

}  // namespace xbarmc::model
