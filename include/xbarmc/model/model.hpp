#pragma once
/// \file
/// A network ready to run: the ONNX graph after load-time passes (constant
/// folding, weight-layer extraction, BatchNorm and bias folding into the preceding
/// weight layer, ReLU fusion), its weight layers, and its card (the JSON file next
/// to the .onnx: normalization, input shape, class names, reference results).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarmc/model/graph.hpp"
#include "xbarmc/model/weight_layer.hpp"

namespace xbarmc::model {

/// How raw pixels (scaled to [0, 1]) become network inputs: (x - mean[c]) / std[c].
struct Normalization {
  std::vector<float> mean;      ///< per channel (or one for all); empty = none
  std::vector<float> std;       ///< per channel (or one for all); empty = none
  std::string layout = "NCHW";  ///< the network's input layout
};

/// A loaded network.
class Model {
 public:
  /// Reads an ONNX file and, when it exists, the JSON card next to it (same name,
  /// .json). Throws InvalidInput for a bad file, Unsupported for an unsupported
  /// operator (naming the op type, the node and the supported list).
  static Model load(const std::string& onnx_path);
  /// A model from an imported graph (tests build graphs directly); `card` may be null.
  static Model from_graph(Graph graph, nlohmann::json card = nullptr);

  /// Weight layers in graph order; the executor's `layer` indices refer to this list.
  const std::vector<WeightLayer>& weight_layers() const { return layers_; }
  /// Input shape per sample, e.g. {1, 28, 28}.
  std::vector<std::int64_t> input_shape() const { return input_shape_; }
  /// Output values per sample (the classes of a classifier).
  std::int64_t num_classes() const { return num_classes_; }
  /// The batch size the file fixes (its input's first dim), or 0 when it is dynamic.
  std::int64_t fixed_batch() const { return fixed_batch_; }
  /// Normalization from the card (empty vectors without one).
  const Normalization& normalization() const { return normalization_; }
  /// Class names from the card (empty without one).
  const std::vector<std::string>& class_names() const { return class_names_; }
  /// The card, or null.
  const nlohmann::json& card() const { return card_; }
  /// The .onnx path ("" for a model built from a graph).
  const std::string& path() const { return path_; }
  /// Total number of weights over all weight layers.
  std::int64_t weight_count() const;

  /// The graph after the load-time passes.
  const Graph& graph() const { return graph_; }
  /// Weight layer of node `node`, or -1.
  int node_layer(int node) const { return node_layer_[node]; }
  /// True when node `node` applies a fused ReLU to its output.
  bool node_fused_relu(int node) const { return node_relu_[node] != 0; }

 private:
  void build();
  void fold_constants();
  void extract_weight_layers();
  void fold_batchnorm_and_bias(const std::vector<Shape>& shapes);
  void resolve_input_shape();
  void fuse_relu();
  void remove_node(std::size_t k);
  void read_card();

  std::string path_;
  Graph graph_;
  std::vector<WeightLayer> layers_;
  std::vector<int> node_layer_;
  std::vector<char> node_relu_;
  std::vector<std::int64_t> input_shape_;
  std::int64_t num_classes_ = 0;
  std::int64_t fixed_batch_ = 0;
  Normalization normalization_;
  std::vector<std::string> class_names_;
  nlohmann::json card_;
};

}  // namespace xbarmc::model
