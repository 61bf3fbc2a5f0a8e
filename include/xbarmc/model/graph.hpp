#pragma once
/// \file
/// The inference graph as imported from ONNX: values by index, constant tensors
/// (initializers and Constant nodes), nodes in topological order with their
/// attributes. Independent of protobuf so that later passes and tests can build
/// and inspect graphs directly.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "xbarmc/model/tensor.hpp"

namespace xbarmc::model {

/// An ONNX node attribute (the kinds inference graphs use).
struct Attribute {
  enum class Type { none, integer, real, text, integers, reals, tensor };
  Type type = Type::none;
  std::int64_t i = 0;
  float f = 0.0f;
  std::string s;
  std::vector<std::int64_t> ints;
  std::vector<float> floats;
  Tensor t;
};

/// One operator application.
struct Node {
  std::string name;          ///< ONNX node name, or "<op_type>_<index>" when the file has none
  std::string op_type;       ///< e.g. "Conv"
  std::string domain;        ///< "" for the default ONNX domain
  std::vector<int> inputs;   ///< value indices; -1 for an omitted optional input
  std::vector<int> outputs;  ///< value indices; -1 for an omitted optional output
  std::map<std::string, Attribute> attrs;

  bool has(const std::string& key) const { return attrs.count(key) != 0; }
  std::int64_t attr_int(const std::string& key, std::int64_t fallback) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_text(const std::string& key, const std::string& fallback) const;
  std::vector<std::int64_t> attr_ints(const std::string& key, const std::vector<std::int64_t>& fallback = {}) const;
  /// Number of inputs actually given (trailing omitted ones not counted).
  int input_count() const;
  /// True when input `k` is given.
  bool has_input(int k) const { return k < static_cast<int>(inputs.size()) && inputs[k] >= 0; }
};

/// A whole graph with one data input and one output.
struct Graph {
  std::string source;    ///< file it came from (for messages)
  int opset = 0;         ///< default-domain opset version
  std::string producer;  ///< e.g. "pytorch 1.13.1"
  std::vector<std::string> value_names;
  std::map<int, Tensor> constants;  ///< initializers and folded constants, by value index
  int input = -1;                   ///< the data input
  Shape input_dims;                 ///< declared input dims; -1 where symbolic (e.g. the batch)
  std::string input_name;
  int output = -1;  ///< the (first) graph output
  std::string output_name;
  std::vector<Node> nodes;  ///< topological order

  /// Index of a value by name, adding it when new.
  int value(const std::string& name);
  bool is_constant(int v) const { return v >= 0 && constants.count(v) != 0; }
  const Tensor& constant(int v) const { return constants.at(v); }
  /// How many node inputs (plus the graph output) read value `v`.
  int use_count(int v) const;
};

}  // namespace xbarmc::model
