#pragma once
// Builds small ONNX models in memory (the protobuf schema of libonnx-dev), so that
// tests exercise the importer, the load-time passes and the executor together.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "xbarmc/model/executor.hpp"
#include "xbarmc/model/model.hpp"
#include "xbarmc/model/onnx_import.hpp"

namespace xbarmc::testing {

/// A node being added; attribute setters chain.
class NodeRef {
 public:
  explicit NodeRef(onnx::NodeProto* n) : n_(n) {}
  NodeRef& i(const std::string& name, std::int64_t v) {
    auto* a = n_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  NodeRef& f(const std::string& name, float v) {
    auto* a = n_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
    return *this;
  }
  NodeRef& s(const std::string& name, const std::string& v) {
    auto* a = n_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
    return *this;
  }
  NodeRef& ints(const std::string& name, const std::vector<std::int64_t>& v) {
    auto* a = n_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
    return *this;
  }

 private:
  onnx::NodeProto* n_;
};

/// A model with one float input (dims: -1 = symbolic batch) and one output.
class OnnxBuilder {
 public:
  explicit OnnxBuilder(const std::vector<std::int64_t>& input_dims, int opset = 17, const std::string& input = "x") {
    m_.set_ir_version(8);
    m_.set_producer_name("xbarmc-test");
    auto* os = m_.add_opset_import();
    os->set_domain("");
    os->set_version(opset);
    auto* in = m_.mutable_graph()->add_input();
    in->set_name(input);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (auto d : input_dims) {
      auto* dim = tt->mutable_shape()->add_dim();
      if (d < 0)
        dim->set_dim_param("batch");
      else
        dim->set_dim_value(d);
    }
  }
  /// A float initializer.
  void init(const std::string& name, const std::vector<std::int64_t>& shape, const std::vector<float>& v) {
    auto* t = m_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : shape) t->add_dims(d);
    for (auto x : v) t->add_float_data(x);
  }
  /// An int64 initializer.
  void init_i64(const std::string& name, const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& v) {
    auto* t = m_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (auto d : shape) t->add_dims(d);
    for (auto x : v) t->add_int64_data(x);
  }
  NodeRef node(const std::string& op, const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
               const std::string& name = "") {
    auto* n = m_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(m_.graph().node_size()) : name);
    for (const auto& s : inputs) n->add_input(s);
    for (const auto& s : outputs) n->add_output(s);
    return NodeRef(n);
  }
  void output(const std::string& name) { m_.mutable_graph()->add_output()->set_name(name); }
  std::string bytes() const { return m_.SerializeAsString(); }
  model::Model build(nlohmann::json card = nullptr) const {
    return model::Model::from_graph(model::import_onnx_bytes(bytes(), "test.onnx"), std::move(card));
  }
  onnx::ModelProto& proto() { return m_; }

 private:
  onnx::ModelProto m_;
};

/// Runs `m` on n samples and returns the flat output.
inline std::vector<float> run_model(const model::Model& m, const std::vector<float>& x, std::int64_t n,
                                    model::MatmulProvider* provider = nullptr) {
  model::Executor ex(m, 8);
  std::vector<float> y(static_cast<std::size_t>(n * m.num_classes()));
  ex.run(x.data(), n, y.data(), provider);
  return y;
}

}  // namespace xbarmc::testing
