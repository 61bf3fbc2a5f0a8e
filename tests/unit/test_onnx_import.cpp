// ONNX import and the load-time passes: a real torch export (LeNet-5), tensors in
// raw and typed encodings, Constant nodes, node order, the card, a fixed batch.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "../common/onnx_builder.hpp"
#include "../common/vec_compare.hpp"
#include "xbarmc/errors.hpp"

namespace xbarmc {
namespace {

using testing::all_near;
using testing::OnnxBuilder;
using testing::run_model;

const std::string kModels = std::string(XBARMC_SOURCE_DIR) + "/experiments/models/";

onnx::ModelProto read_proto(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  onnx::ModelProto p;
  EXPECT_TRUE(p.ParseFromString(ss.str()));
  return p;
}

std::vector<float> initializer(const onnx::ModelProto& p, const std::string& name) {
  for (const auto& t : p.graph().initializer())
    if (t.name() == name) {
      std::vector<float> v(t.raw_data().size() / 4);
      std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
      return v;
    }
  ADD_FAILURE() << "no initializer " << name;
  return {};
}

TEST(OnnxImport, LeNetFromTorchExport) {
  const auto m = model::Model::load(kModels + "lenet5.onnx");
  EXPECT_EQ(m.input_shape(), (std::vector<std::int64_t>{1, 28, 28}));
  EXPECT_EQ(m.num_classes(), 10);
  EXPECT_EQ(m.fixed_batch(), 0);  // exported with a dynamic batch
  ASSERT_EQ(m.weight_layers().size(), 5u);
  const std::vector<std::pair<std::int64_t, std::int64_t>> km = {{25, 6}, {150, 16}, {400, 120}, {120, 84}, {84, 10}};
  for (std::size_t l = 0; l < km.size(); ++l) {
    EXPECT_EQ(m.weight_layers()[l].K, km[l].first) << l;
    EXPECT_EQ(m.weight_layers()[l].M, km[l].second) << l;
    EXPECT_EQ(m.weight_layers()[l].bias.size(), static_cast<std::size_t>(km[l].second)) << l;
  }
  EXPECT_EQ(m.weight_layers()[0].op_type, "Conv");
  EXPECT_EQ(m.weight_layers()[2].op_type, "Gemm");
  EXPECT_EQ(m.weight_layers()[1].pad_top, 0);
  EXPECT_EQ(m.weight_layers()[0].pad_top, 2);
  // Conv, MaxPool, Conv, MaxPool, Flatten, Gemm x3: the four ReLUs fused into their producers.
  EXPECT_EQ(m.graph().nodes.size(), 8u);
  int fused = 0;
  for (std::size_t k = 0; k < m.graph().nodes.size(); ++k) fused += m.node_fused_relu(static_cast<int>(k));
  EXPECT_EQ(fused, 4);
  // The card.
  ASSERT_EQ(m.normalization().mean.size(), 1u);
  EXPECT_NEAR(m.normalization().mean[0], 0.2860406f, 1e-6);
  EXPECT_EQ(m.class_names().size(), 10u);
  EXPECT_EQ(m.class_names()[9], "Ankle boot");

  // Weight layout: row k = (c, ky, kx) in ONNX's flattening, column m = output channel.
  const auto p = read_proto(kModels + "lenet5.onnx");
  const auto w2 = initializer(p, "conv2.weight");  // (16, 6, 5, 5)
  const auto& l1 = m.weight_layers()[1];
  for (int mm : {0, 7, 15})
    for (int k : {0, 26, 149}) EXPECT_EQ(l1.w(0, k, mm), w2[mm * 150 + k]);
  const auto f1 = initializer(p, "fc1.weight");  // Gemm with transB: (120, 400)
  const auto& l2 = m.weight_layers()[2];
  for (int mm : {0, 119})
    for (int k : {0, 399}) EXPECT_EQ(l2.w(0, k, mm), f1[mm * 400 + k]);
}

TEST(OnnxImport, TensorEncodingsConstantNodesAndNodeOrder) {
  OnnxBuilder b({-1, 3});
  // A raw_data float initializer, an int32 one (cast to float by a node), a Constant node.
  auto& g = *b.proto().mutable_graph();
  auto* raw = g.add_initializer();
  raw->set_name("w");
  raw->set_data_type(onnx::TensorProto::FLOAT);
  raw->add_dims(3);
  const float wv[3] = {1.5f, -2, 0.25f};
  raw->set_raw_data(std::string(reinterpret_cast<const char*>(wv), sizeof wv));
  auto* i32 = g.add_initializer();
  i32->set_name("k");
  i32->set_data_type(onnx::TensorProto::INT32);
  i32->add_dims(3);
  for (int v : {1, 2, 3}) i32->add_int32_data(v);
  // Nodes out of order: the importer sorts them.
  b.node("Add", {"t", "kf"}, {"y"});
  b.node("Cast", {"k"}, {"kf"}).i("to", 1);
  b.node("Mul", {"x", "wc"}, {"t"});
  auto* c = g.add_node();
  c->set_op_type("Constant");
  c->add_output("wc");
  auto* a = c->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  *a->mutable_t() = *raw;
  b.output("y");
  const auto m = b.build();
  // Cast of a constant folds at load time; Mul and Add remain.
  EXPECT_EQ(m.graph().nodes.size(), 2u);
  EXPECT_TRUE(all_near(run_model(m, {2, 1, 4}, 1), {4, 0, 4}, 0));
}

TEST(OnnxImport, FixedBatchModelRunsInFullBatches) {
  OnnxBuilder b({2, 3});  // batch fixed to 2
  b.init_i64("s", {2}, {2, 3});
  b.node("Reshape", {"x", "s"}, {"r"});  // a hard-coded batch, as some exports have
  b.init("k", {}, {10});
  b.node("Mul", {"r", "k"}, {"y"});
  b.output("y");
  const auto m = b.build();
  EXPECT_EQ(m.fixed_batch(), 2);
  // 3 samples: two full batches, the second padded.
  EXPECT_TRUE(all_near(run_model(m, {1, 2, 3, 4, 5, 6, 7, 8, 9}, 3), {10, 20, 30, 40, 50, 60, 70, 80, 90}, 0));
}

TEST(OnnxImport, InputShapeFromTheCardWhenSymbolic) {
  OnnxBuilder b({-1, -1});
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  EXPECT_THROW(b.build(), InvalidInput);
  const auto m = b.build(nlohmann::json{{"input_shape", {5}}});
  EXPECT_EQ(m.input_shape(), (std::vector<std::int64_t>{5}));
  EXPECT_EQ(m.num_classes(), 5);
}

TEST(OnnxImport, BatchSplitGivesTheSameResultsAsOneByOne) {
  const auto m = model::Model::load(kModels + "lenet5.onnx");
  std::vector<float> x(13 * 784);
  for (std::size_t k = 0; k < x.size(); ++k) x[k] = static_cast<float>((k * 7919) % 255) / 128.0f - 1.0f;
  model::Executor big(m, 5), one(m, 1);
  std::vector<float> a(130), b(130);
  big.run(x.data(), 13, a.data());
  one.run(x.data(), 13, b.data());
  // Per-sample results may differ only by the order of float sums inside sgemm.
  EXPECT_TRUE(all_near(a, b, 1e-4));
}

}  // namespace
}  // namespace xbarmc
