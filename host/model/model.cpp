#include "xbarmc/model/model.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"
#include "xbarmc/model/executor.hpp"
#include "xbarmc/model/onnx_import.hpp"
#include "xbarmc/model/ops.hpp"

namespace xbarmc::model {

namespace {

bool is_weight_op(const std::string& op) { return op == "Conv" || op == "Gemm" || op == "MatMul"; }

/// Index of the node that produces each value (-1 for inputs and constants).
std::vector<int> producers(const Graph& g) {
  std::vector<int> p(g.value_names.size(), -1);
  for (std::size_t k = 0; k < g.nodes.size(); ++k)
    for (int v : g.nodes[k].outputs)
      if (v >= 0) p[v] = static_cast<int>(k);
  return p;
}

/// The only node reading `v`, or -1 (none, several, or the graph output).
int sole_consumer(const Graph& g, int v) {
  if (v == g.output) return -1;
  int found = -1;
  for (std::size_t k = 0; k < g.nodes.size(); ++k)
    for (int in : g.nodes[k].inputs)
      if (in == v) {
        if (found >= 0 && found != static_cast<int>(k)) return -1;
        if (found == static_cast<int>(k)) return -1;  // read twice by one node
        found = static_cast<int>(k);
      }
  return found;
}

}  // namespace

Model Model::load(const std::string& onnx_path) {
  Model m;
  m.path_ = onnx_path;
  m.graph_ = import_onnx(onnx_path);
  m.read_card();
  m.build();
  return m;
}

Model Model::from_graph(Graph graph, nlohmann::json card) {
  Model m;
  m.path_ = graph.source;
  m.graph_ = std::move(graph);
  m.card_ = std::move(card);
  if (!m.card_.is_null()) m.read_card();
  m.build();
  return m;
}

std::int64_t Model::weight_count() const {
  std::int64_t n = 0;
  for (const auto& l : layers_) n += static_cast<std::int64_t>(l.weights.size());
  return n;
}

void Model::read_card() {
  std::string card_path;
  if (card_.is_null()) {
    if (path_.empty()) return;
    std::filesystem::path p(path_);
    p.replace_extension(".json");
    card_path = p.string();
    std::ifstream in(card_path);
    if (!in) return;  // no card: normalization and names must come from flags
    try {
      card_ = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw InvalidInput(card_path, fmt::format("the model card is not valid JSON ({})", e.what()));
    }
  }
  try {
    if (card_.contains("normalization")) {
      const auto& nz = card_["normalization"];
      normalization_.mean = nz.value("mean", std::vector<float>{});
      normalization_.std = nz.value("std", std::vector<float>{});
      normalization_.layout = nz.value("layout", std::string("NCHW"));
      if (normalization_.mean.size() != normalization_.std.size())
        throw InvalidInput(card_path, "normalization: mean and std have different lengths");
      for (float s : normalization_.std)
        if (!(s > 0.0f)) throw InvalidInput(card_path, "normalization: every std must be > 0");
      if (normalization_.layout != "NCHW")
        throw InvalidInput(card_path,
                           fmt::format("normalization: layout '{}' is not supported (NCHW is)", normalization_.layout));
    }
    class_names_ = card_.value("class_names", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(card_path, fmt::format("unexpected contents in the model card ({})", e.what()));
  }
}

void Model::remove_node(std::size_t k) {
  graph_.nodes.erase(graph_.nodes.begin() + static_cast<std::ptrdiff_t>(k));
  node_layer_.erase(node_layer_.begin() + static_cast<std::ptrdiff_t>(k));
  node_relu_.erase(node_relu_.begin() + static_cast<std::ptrdiff_t>(k));
}

void Model::build() {
  // Unsupported operators first, all at once, so the user sees the whole list.
  std::string bad;
  for (const auto& n : graph_.nodes)
    if (!n.domain.empty() || !is_supported(n.op_type))
      bad += fmt::format("{}{} (node '{}'{})", bad.empty() ? "" : ", ", n.op_type, n.name,
                         n.domain.empty() ? "" : ", domain " + n.domain);
  if (!bad.empty())
    throw Unsupported(fmt::format("{}: unsupported operator(s): {}. Supported operators: {}", graph_.source, bad,
                                  supported_ops_text()));
  if (graph_.opset < 11 || graph_.opset > 18)
    throw Unsupported(
        fmt::format("{}: ONNX opset {} is not supported (11 to 18 are; re-export with opset_version "
                    "between 13 and 17)",
                    graph_.source, graph_.opset));
  node_layer_.assign(graph_.nodes.size(), -1);
  node_relu_.assign(graph_.nodes.size(), 0);

  fold_constants();
  extract_weight_layers();
  resolve_input_shape();
  const std::int64_t b = fixed_batch_ > 0 ? fixed_batch_ : 1;
  {
    // Value shapes (for one batch) decide which folds keep the graph's meaning.
    Executor ex(*this, 1);
    const std::vector<Shape> shapes = ex.value_shapes(b);
    fold_batchnorm_and_bias(shapes);
  }
  fuse_relu();

  // Plan one batch: checks every shape and gives the output size.
  Executor ex(*this, 1);
  const Shape out = ex.output_shape(b);
  if (out.empty() || out[0] != b)
    throw InvalidInput(path_, fmt::format("the output '{}' has shape {}; expected the batch ({}) first",
                                          graph_.output_name, shape_str(out), b));
  num_classes_ = numel(out) / b;
  if (!card_.is_null() && card_.contains("num_classes") && card_["num_classes"].get<std::int64_t>() != num_classes_)
    throw InvalidInput(path_, fmt::format("the card says {} classes but the model outputs {} values per sample",
                                          card_["num_classes"].get<std::int64_t>(), num_classes_));
}

void Model::resolve_input_shape() {
  // Input shape per sample: the declared dims after the batch, or the card's.
  const Shape& dims = graph_.input_dims;
  if (dims.empty()) throw InvalidInput(path_, fmt::format("the input '{}' declares no shape", graph_.input_name));
  fixed_batch_ = dims[0] > 0 ? dims[0] : 0;
  input_shape_.assign(dims.begin() + 1, dims.end());
  std::vector<std::int64_t> card_shape;
  if (!card_.is_null() && card_.contains("input_shape"))
    card_shape = card_["input_shape"].get<std::vector<std::int64_t>>();
  bool symbolic = false;
  for (auto d : input_shape_) symbolic = symbolic || d < 0;
  if (symbolic) {
    if (card_shape.size() != input_shape_.size())
      throw InvalidInput(path_, fmt::format("the input '{}' has symbolic dims besides the batch; give input_shape "
                                            "(per sample, {} dims) in the model card",
                                            graph_.input_name, input_shape_.size()));
    for (std::size_t d = 0; d < input_shape_.size(); ++d)
      if (input_shape_[d] >= 0 && input_shape_[d] != card_shape[d])
        throw InvalidInput(path_, "the card's input_shape disagrees with the model's input");
    input_shape_ = card_shape;
  } else if (!card_shape.empty() && card_shape != input_shape_) {
    throw InvalidInput(path_, fmt::format("the card says input_shape {} but the model's input is {}",
                                          shape_str(card_shape), shape_str(input_shape_)));
  }
}

void Model::fold_constants() {
  BindContext ctx;
  ctx.source = path_;
  ctx.opset = graph_.opset;
  for (std::size_t k = 0; k < graph_.nodes.size();) {
    const Node& n = graph_.nodes[k];
    bool all = !is_weight_op(n.op_type) || n.op_type == "MatMul";
    for (int v : n.inputs) all = all && (v < 0 || graph_.is_constant(v));
    if (!all || n.inputs.empty()) {
      ++k;
      continue;
    }
    std::vector<ValueMeta> in;
    for (int v : n.inputs) {
      if (v < 0) {
        in.emplace_back();
      } else {
        const Tensor& t = graph_.constant(v);
        in.push_back(ValueMeta{t.dtype, t.shape, &t});
      }
    }
    std::vector<Tensor> outs = evaluate(n, in, ctx);
    const std::vector<int> out_ids = n.outputs;
    for (std::size_t o = 0; o < outs.size() && o < out_ids.size(); ++o)
      if (out_ids[o] >= 0) graph_.constants[out_ids[o]] = std::move(outs[o]);
    remove_node(k);
  }
}

void Model::extract_weight_layers() {
  for (std::size_t k = 0; k < graph_.nodes.size(); ++k) {
    const Node& n = graph_.nodes[k];
    if (!is_weight_op(n.op_type)) continue;
    WeightLayer wl;
    wl.name = n.name;
    wl.op_type = n.op_type;
    if (n.op_type == "Conv") {
      if (!n.has_input(1) || !graph_.is_constant(n.inputs[1])) continue;  // bind reports it
      const Tensor& W = graph_.constant(n.inputs[1]);
      if (W.dtype != DType::f32 || (W.shape.size() != 3 && W.shape.size() != 4))
        throw Unsupported(
            fmt::format("{}: node '{}' (Conv): weights of shape {}; 1-D and 2-D convolutions are "
                        "supported",
                        path_, n.name, shape_str(W.shape)));
      const int sd = static_cast<int>(W.shape.size()) - 2;
      const std::int64_t G = n.attr_int("group", 1);
      const std::int64_t Mt = W.shape[0], Cg = W.shape[1];
      if (G < 1 || Mt % G != 0)
        throw InvalidInput(
            path_, fmt::format("node '{}' (Conv): {} output channels do not split into {} groups", n.name, Mt, G));
      wl.spatial_dims = sd;
      wl.groups = static_cast<int>(G);
      wl.in_channels = Cg * G;
      wl.kernel_h = sd == 2 ? W.shape[2] : 1;
      wl.kernel_w = W.shape.back();
      const auto ks = n.attr_ints("kernel_shape");
      if (!ks.empty() &&
          (static_cast<int>(ks.size()) != sd || ks.back() != wl.kernel_w || (sd == 2 && ks[0] != wl.kernel_h)))
        throw InvalidInput(path_, fmt::format("node '{}' (Conv): kernel_shape disagrees with the weights", n.name));
      const auto st = n.attr_ints("strides", std::vector<std::int64_t>(sd, 1));
      const auto di = n.attr_ints("dilations", std::vector<std::int64_t>(sd, 1));
      const auto pads = n.attr_ints("pads", std::vector<std::int64_t>(2 * sd, 0));
      if (static_cast<int>(st.size()) != sd || static_cast<int>(di.size()) != sd ||
          static_cast<int>(pads.size()) != 2 * sd)
        throw InvalidInput(path_,
                           fmt::format("node '{}' (Conv): strides, dilations or pads have the wrong length", n.name));
      if (sd == 2) {
        wl.stride_h = st[0];
        wl.dilation_h = di[0];
        wl.pad_top = pads[0];
        wl.pad_bottom = pads[2];
      }
      wl.stride_w = st.back();
      wl.dilation_w = di.back();
      wl.pad_left = pads[sd - 1];
      wl.pad_right = pads[2 * sd - 1];
      wl.auto_pad = n.attr_text("auto_pad", "NOTSET");
      if (wl.stride_h < 1 || wl.stride_w < 1 || wl.dilation_h < 1 || wl.dilation_w < 1)
        throw InvalidInput(path_, fmt::format("node '{}' (Conv): strides and dilations must be >= 1", n.name));
      wl.M = Mt / G;
      wl.K = Cg * wl.kernel_h * wl.kernel_w;
      wl.weights.resize(static_cast<std::size_t>(G * wl.K * wl.M));
      for (std::int64_t g = 0; g < G; ++g)
        for (std::int64_t m = 0; m < wl.M; ++m)
          for (std::int64_t kk = 0; kk < wl.K; ++kk)
            wl.weights[(g * wl.K + kk) * wl.M + m] = W.f[(g * wl.M + m) * wl.K + kk];
      if (n.has_input(2)) {
        if (!graph_.is_constant(n.inputs[2]))
          throw Unsupported(fmt::format("{}: node '{}' (Conv): a bias computed at run time", path_, n.name));
        wl.bias = graph_.constant(n.inputs[2]).as_floats();
        if (static_cast<std::int64_t>(wl.bias.size()) != Mt)
          throw InvalidInput(path_, fmt::format("node '{}' (Conv): bias has {} entries for {} output channels", n.name,
                                                wl.bias.size(), Mt));
      }
    } else if (n.op_type == "Gemm") {
      if (!n.has_input(1) || !graph_.is_constant(n.inputs[1])) continue;
      const Tensor& B = graph_.constant(n.inputs[1]);
      if (B.shape.size() != 2 || B.dtype != DType::f32)
        throw InvalidInput(path_, fmt::format("node '{}' (Gemm): B must be a 2-D float matrix", n.name));
      const bool tb = n.attr_int("transB", 0) != 0;
      const float alpha = n.attr_float("alpha", 1.0f), beta = n.attr_float("beta", 1.0f);
      wl.K = tb ? B.shape[1] : B.shape[0];
      wl.M = tb ? B.shape[0] : B.shape[1];
      wl.weights.resize(static_cast<std::size_t>(wl.K * wl.M));
      for (std::int64_t kk = 0; kk < wl.K; ++kk)
        for (std::int64_t m = 0; m < wl.M; ++m)
          wl.weights[kk * wl.M + m] = alpha * (tb ? B.f[m * wl.K + kk] : B.f[kk * wl.M + m]);
      if (n.has_input(2)) {
        if (!graph_.is_constant(n.inputs[2]))
          throw Unsupported(fmt::format("{}: node '{}' (Gemm): a C operand computed at run time", path_, n.name));
        const Tensor& C = graph_.constant(n.inputs[2]);
        const bool per_column = C.size() == wl.M && (C.shape.size() == 1 || (C.shape.size() == 2 && C.shape[0] == 1));
        if (!per_column && C.size() != 1)
          throw Unsupported(
              fmt::format("{}: node '{}' (Gemm): C of shape {}; a bias per output (M = {}) or a "
                          "scalar is supported",
                          path_, n.name, shape_str(C.shape), wl.M));
        const auto c = C.as_floats();
        wl.bias.resize(wl.M);
        for (std::int64_t m = 0; m < wl.M; ++m) wl.bias[m] = beta * c[per_column ? m : 0];
      }
    } else {  // MatMul
      const bool b_const =
          n.has_input(1) && graph_.is_constant(n.inputs[1]) && graph_.constant(n.inputs[1]).shape.size() == 2;
      const bool a_const =
          n.has_input(0) && graph_.is_constant(n.inputs[0]) && graph_.constant(n.inputs[0]).shape.size() == 2;
      if (b_const) {
        const Tensor& B = graph_.constant(n.inputs[1]);
        wl.K = B.shape[0];
        wl.M = B.shape[1];
        wl.weights = B.as_floats();
      } else if (a_const) {
        const Tensor& A = graph_.constant(n.inputs[0]);
        wl.constant_first = true;
        wl.M = A.shape[0];
        wl.K = A.shape[1];
        wl.weights.resize(static_cast<std::size_t>(wl.K * wl.M));
        for (std::int64_t m = 0; m < wl.M; ++m)
          for (std::int64_t kk = 0; kk < wl.K; ++kk) wl.weights[kk * wl.M + m] = A.f[m * wl.K + kk];
      } else {
        continue;  // a product of two activations: digital
      }
    }
    node_layer_[k] = static_cast<int>(layers_.size());
    layers_.push_back(std::move(wl));
  }
}

void Model::fold_batchnorm_and_bias(const std::vector<Shape>& shapes) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (std::size_t k = 0; k < graph_.nodes.size() && !changed; ++k) {
      const int li = node_layer_[k];
      if (li < 0 || layers_[li].constant_first || node_relu_[k]) continue;
      WeightLayer& wl = layers_[li];
      const int out = graph_.nodes[k].outputs[0];
      const int ci = sole_consumer(graph_, out);
      if (ci < 0) continue;
      const Node& c = graph_.nodes[ci];
      const std::int64_t Mt = wl.M * wl.groups;
      std::vector<float> a, b;  // new output = old * a + b, per output channel
      // A MatMul output is (rows, M) only when it is 2-D; BatchNormalization normalizes dim 1.
      const bool two_d = out < static_cast<int>(shapes.size()) && shapes[out].size() == 2;
      if (c.op_type == "BatchNormalization" && (wl.op_type != "MatMul" || two_d) && c.inputs[0] == out &&
          c.attr_int("training_mode", 0) == 0 && (c.outputs.size() < 2 || c.outputs[1] < 0)) {
        bool consts = c.input_count() == 5;
        for (int q = 1; q < 5 && consts; ++q) consts = graph_.is_constant(c.inputs[q]);
        if (!consts) continue;
        const auto scale = graph_.constant(c.inputs[1]).as_floats(), beta = graph_.constant(c.inputs[2]).as_floats();
        const auto mean = graph_.constant(c.inputs[3]).as_floats(), var = graph_.constant(c.inputs[4]).as_floats();
        if (static_cast<std::int64_t>(scale.size()) != Mt) continue;
        const float eps = c.attr_float("epsilon", 1e-5f);
        a.resize(Mt);
        b.resize(Mt);
        for (std::int64_t m = 0; m < Mt; ++m) {
          a[m] = scale[m] / std::sqrt(var[m] + eps);
          b[m] = beta[m] - mean[m] * a[m];
        }
      } else if (c.op_type == "Add" && c.input_count() == 2) {
        const int other = c.inputs[0] == out ? c.inputs[1] : c.inputs[0];
        if (!graph_.is_constant(other)) continue;
        const Tensor& t = graph_.constant(other);
        if (t.dtype != DType::f32 || t.size() != Mt) continue;
        bool ok;
        if (wl.op_type == "Conv") {  // (M, 1, ...) or (1, M, 1, ...): one value per output channel
          const std::size_t want = static_cast<std::size_t>(wl.spatial_dims) + 1;
          ok = t.shape.size() == want || t.shape.size() == want + 1;
          const std::size_t ch = t.shape.size() == want ? 0 : 1;
          for (std::size_t d = 0; d < t.shape.size() && ok; ++d) ok = d == ch ? t.shape[d] == Mt : t.shape[d] == 1;
        } else {  // along the last dim only, without raising the output's rank
          ok = t.shape.size() == 1 || (two_d && t.shape.size() == 2 && t.shape[0] == 1);
        }
        if (!ok) continue;
        a.assign(Mt, 1.0f);
        b = t.f;
      } else {
        continue;
      }
      for (int g = 0; g < wl.groups; ++g)
        for (std::int64_t kk = 0; kk < wl.K; ++kk)
          for (std::int64_t m = 0; m < wl.M; ++m) wl.weights[(g * wl.K + kk) * wl.M + m] *= a[g * wl.M + m];
      if (wl.bias.empty()) wl.bias.assign(Mt, 0.0f);
      for (std::int64_t m = 0; m < Mt; ++m) wl.bias[m] = wl.bias[m] * a[m] + b[m];
      graph_.nodes[k].outputs[0] = c.outputs[0];
      remove_node(static_cast<std::size_t>(ci));
      changed = true;
    }
  }
}

void Model::fuse_relu() {
  for (std::size_t k = 0; k < graph_.nodes.size();) {
    const Node& r = graph_.nodes[k];
    if (r.op_type != "Relu") {
      ++k;
      continue;
    }
    const auto prod = producers(graph_);
    const int in = r.inputs[0];
    const int p = prod[in];
    const bool fusable =
        p >= 0 && !node_relu_[p] && sole_consumer(graph_, in) == static_cast<int>(k) &&
        (node_layer_[p] >= 0 || graph_.nodes[p].op_type == "Add" || graph_.nodes[p].op_type == "BatchNormalization");
    if (!fusable) {
      ++k;
      continue;
    }
    node_relu_[p] = 1;
    graph_.nodes[p].outputs[0] = r.outputs[0];
    remove_node(k);
  }
}

}  // namespace xbarmc::model
