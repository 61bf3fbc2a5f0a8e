#include "xbarmc/model/bind.hpp"

#include <fmt/format.h>

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

}  // namespace xbarmc::model
