// Pooling, normalization, softmax and reductions against hand-computed values;
// BatchNorm folding and ReLU fusion against the unfolded computation.
#include <gtest/gtest.h>

#include <cmath>

#include "../common/onnx_builder.hpp"
#include "../common/vec_compare.hpp"

namespace xbarmc {
namespace {

using testing::all_near;
using testing::OnnxBuilder;
using testing::run_model;

std::vector<float> iota(int n, float start = 0.0f) {
  std::vector<float> v(n);
  for (int k = 0; k < n; ++k) v[k] = start + static_cast<float>(k);
  return v;
}

TEST(OpsNn, MaxPoolAndAveragePool) {
  {
    OnnxBuilder b({-1, 1, 4, 4});
    b.node("MaxPool", {"x"}, {"y"}).ints("kernel_shape", {2, 2}).ints("strides", {2, 2});
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), iota(16), 1), {5, 7, 13, 15}, 0));
  }
  {  // 3x3 input, kernel 2, stride 2, ceil_mode: 2x2 output, the last windows clipped
    OnnxBuilder b({-1, 1, 3, 3});
    b.node("MaxPool", {"x"}, {"y"}).ints("kernel_shape", {2, 2}).ints("strides", {2, 2}).i("ceil_mode", 1);
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), iota(9), 1), {4, 5, 7, 8}, 0));
  }
  {  // padding 1, kernel 3, stride 1: without count_include_pad the corner averages 4 values
    OnnxBuilder b({-1, 1, 2, 2});
    b.node("AveragePool", {"x"}, {"y"}).ints("kernel_shape", {3, 3}).ints("pads", {1, 1, 1, 1});
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), {1, 2, 3, 4}, 1), {2.5f, 2.5f, 2.5f, 2.5f}, 0));
    OnnxBuilder c({-1, 1, 2, 2});
    c.node("AveragePool", {"x"}, {"y"})
        .ints("kernel_shape", {3, 3})
        .ints("pads", {1, 1, 1, 1})
        .i("count_include_pad", 1);
    c.output("y");
    EXPECT_TRUE(all_near(run_model(c.build(), {1, 2, 3, 4}, 1), {10.0f / 9, 10.0f / 9, 10.0f / 9, 10.0f / 9}, 1e-7));
  }
  {
    OnnxBuilder b({-1, 2, 2, 2});
    b.node("GlobalAveragePool", {"x"}, {"g"});
    b.node("Flatten", {"g"}, {"y"});
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), iota(8), 1), {1.5f, 5.5f}, 0));
  }
}

TEST(OpsNn, SoftmaxBothOpsetSemantics) {
  const std::vector<float> x = {0, 0, std::log(3.0f), 1, 1, 1};  // (batch, 2, 3)
  {
    OnnxBuilder b({-1, 2, 3}, 13);
    b.node("Softmax", {"x"}, {"y"});  // axis -1: per row
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), x, 1), {0.2f, 0.2f, 0.6f, 1.0f / 3, 1.0f / 3, 1.0f / 3}, 1e-6));
  }
  {
    OnnxBuilder b({-1, 2, 3}, 11);
    b.node("Softmax", {"x"}, {"y"});  // axis 1, flattened: over all 6 values
    b.output("y");
    const float e = std::exp(1.0f), s = 1 + 1 + 3 + 3 * e;
    EXPECT_TRUE(all_near(run_model(b.build(), x, 1), {1 / s, 1 / s, 3 / s, e / s, e / s, e / s}, 1e-6));
  }
  {
    OnnxBuilder b({-1, 2, 3}, 13);
    b.node("LogSoftmax", {"x"}, {"y"}).i("axis", 1);  // over the 2 rows, per column
    b.output("y");
    const float a = -std::log1p(std::exp(1.0f)), c = -std::log1p(std::exp(-1.0f));
    const float l3 = std::log(3.0f);
    const float d = std::log(3.0f + std::exp(1.0f));
    EXPECT_TRUE(all_near(run_model(b.build(), x, 1), {a, a, l3 - d, c, c, 1 - d}, 1e-6));
  }
}

TEST(OpsNn, LayerNormalizationAndItsDecomposition) {
  // Rows [1, 2, 3, 4] and [2, 2, 2, 6]: mean 2.5 / 3, variance 1.25 / 3.
  const std::vector<float> x = {1, 2, 3, 4, 2, 2, 2, 6};
  const float eps = 1e-5f;
  auto expect = [&](int row, int k) {
    const float mean = row ? 3.0f : 2.5f, var = row ? 3.0f : 1.25f;
    return (x[row * 4 + k] - mean) / std::sqrt(var + eps) * (k + 1.0f) + 0.5f;
  };
  std::vector<float> e;
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 4; ++k) e.push_back(expect(r, k));
  {
    OnnxBuilder b({-1, 2, 4}, 17);
    b.init("g", {4}, {1, 2, 3, 4});
    b.init("bb", {4}, {0.5f, 0.5f, 0.5f, 0.5f});
    b.node("LayerNormalization", {"x", "g", "bb"}, {"y"}).i("axis", -1).f("epsilon", eps);
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), x, 1), e, 1e-5));
  }
  {  // opset 13 export: ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add
    OnnxBuilder b({-1, 2, 4}, 13);
    b.init("g", {4}, {1, 2, 3, 4});
    b.init("bb", {4}, {0.5f, 0.5f, 0.5f, 0.5f});
    b.init("two", {}, {2});
    b.init("eps", {}, {eps});
    b.node("ReduceMean", {"x"}, {"mu"}).ints("axes", {-1});
    b.node("Sub", {"x", "mu"}, {"d"});
    b.node("Pow", {"d", "two"}, {"d2"});
    b.node("ReduceMean", {"d2"}, {"var"}).ints("axes", {-1});
    b.node("Add", {"var", "eps"}, {"ve"});
    b.node("Sqrt", {"ve"}, {"sd"});
    b.node("Div", {"d", "sd"}, {"n"});
    b.node("Mul", {"n", "g"}, {"ng"});
    b.node("Add", {"ng", "bb"}, {"y"});
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), x, 1), e, 1e-5));
  }
}

TEST(OpsNn, Reductions) {
  OnnxBuilder b({-1, 2, 3}, 13);
  b.node("ReduceMean", {"x"}, {"m"}).ints("axes", {1}).i("keepdims", 0);  // per column
  b.node("ReduceMax", {"x"}, {"mx"}).ints("axes", {2});                   // per row, kept: (b, 2, 1)
  b.node("Flatten", {"mx"}, {"mxf"});
  b.node("Concat", {"m", "mxf"}, {"y"}).i("axis", 1);
  b.output("y");
  EXPECT_TRUE(all_near(run_model(b.build(), {1, 2, 3, 4, 5, 6}, 1), {2.5f, 3.5f, 4.5f, 3, 6}, 0));

  OnnxBuilder c({-1, 2, 2, 2}, 13);
  c.init_i64("axes", {2}, {1, 3});
  c.node("ReduceSum", {"x", "axes"}, {"y"});  // non-adjacent axes: (b, 1, 2, 1)
  c.output("y");
  // x[c][h][w] = 4c + 2h + w: h = 0 sums 0 + 1 + 4 + 5, h = 1 sums 2 + 3 + 6 + 7
  EXPECT_TRUE(all_near(run_model(c.build(), iota(8), 1), {10, 18}, 0));
}

TEST(OpsNn, BatchNormDigitalFoldedAndFusedRelu) {
  // y = relu(BN(conv(x))) with a 1x1 conv; the BN folds into the conv, the ReLU fuses.
  const std::vector<float> scale = {2, 0.5f}, bias = {1, -1}, mean = {0.5f, -1}, var = {3, 0.25f};
  const float eps = 1e-3f;
  auto build = [&](bool with_conv) {
    OnnxBuilder b({-1, 2, 1, 2});
    b.init("s", {2}, scale);
    b.init("bi", {2}, bias);
    b.init("mu", {2}, mean);
    b.init("va", {2}, var);
    std::string bn_in = "x";
    if (with_conv) {
      b.init("w", {2, 2, 1, 1}, {1, 2, -1, 1});
      b.node("Conv", {"x", "w"}, {"c"});
      bn_in = "c";
    }
    b.node("BatchNormalization", {bn_in, "s", "bi", "mu", "va"}, {"bn"}).f("epsilon", eps);
    b.node("Relu", {"bn"}, {"y"});
    b.output("y");
    return b.build();
  };
  const std::vector<float> x = {1, -2, 0.5f, 3};  // x0 = [1, -2], x1 = [0.5, 3]
  auto bn = [&](int c, float v) {
    return std::fmax(0.0f, (v - mean[c]) / std::sqrt(var[c] + eps) * scale[c] + bias[c]);
  };
  {
    const auto m = build(false);  // no weight layer to fold into: runs digitally
    EXPECT_EQ(m.graph().nodes.size(), 1u);
    EXPECT_TRUE(all_near(run_model(m, x, 1), {bn(0, 1), bn(0, -2), bn(1, 0.5f), bn(1, 3)}, 1e-6));
  }
  {
    const auto m = build(true);
    ASSERT_EQ(m.graph().nodes.size(), 1u);  // Conv with BN folded and ReLU fused
    EXPECT_TRUE(m.node_fused_relu(0));
    ASSERT_EQ(m.weight_layers()[0].bias.size(), 2u);
    const float c0a = 1 + 2 * 0.5f, c0b = -2 + 2 * 3;  // channel 0: x0 + 2 x1
    const float c1a = -1 + 0.5f, c1b = 2 + 3;          // channel 1: -x0 + x1
    EXPECT_TRUE(all_near(run_model(m, x, 1), {bn(0, c0a), bn(0, c0b), bn(1, c1a), bn(1, c1b)}, 1e-5));
  }
}

}  // namespace
}  // namespace xbarmc
