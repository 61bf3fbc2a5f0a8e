#include "xbarmc/model/graph.hpp"

namespace xbarmc::model {

std::int64_t Node::attr_int(const std::string& key, std::int64_t fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.i;
}

float Node::attr_float(const std::string& key, float fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.f;
}

std::string Node::attr_text(const std::string& key, const std::string& fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.s;
}

std::vector<std::int64_t> Node::attr_ints(const std::string& key, const std::vector<std::int64_t>& fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.ints;
}

int Node::input_count() const {
  int n = static_cast<int>(inputs.size());
  while (n > 0 && inputs[n - 1] < 0) --n;
  return n;
}

int Graph::value(const std::string& name) {
  for (std::size_t k = 0; k < value_names.size(); ++k)
    if (value_names[k] == name) return static_cast<int>(k);
  value_names.push_back(name);
  return static_cast<int>(value_names.size()) - 1;
}

int Graph::use_count(int v) const {
  int n = v == output ? 1 : 0;
  for (const auto& node : nodes)
    for (int in : node.inputs) n += in == v;
  return n;
}

}  // namespace xbarmc::model
