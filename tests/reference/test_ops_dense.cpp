// Gemm and MatMul against hand-computed values: constant operands become weight
// layers (with transB, alpha, beta, the constant first operand), products of two
// activations stay digital with numpy broadcasting.
#include <gtest/gtest.h>

#include <cmath>

#include "../common/onnx_builder.hpp"
#include "../common/vec_compare.hpp"

namespace xbarmc {
namespace {

using testing::all_near;
using testing::OnnxBuilder;
using testing::run_model;

TEST(OpsDense, GemmTransBAlphaBeta) {
  OnnxBuilder b({-1, 3});
  b.init("B", {2, 3}, {1, 0, -1, 2, 1, 0});  // transB: W = B^T, 3 inputs -> 2 outputs
  b.init("C", {2}, {1, -1});
  b.node("Gemm", {"x", "B", "C"}, {"y"}).i("transB", 1).f("alpha", 2.0f).f("beta", 0.5f);
  b.output("y");
  const auto m = b.build();
  ASSERT_EQ(m.weight_layers().size(), 1u);
  const auto& l = m.weight_layers()[0];
  EXPECT_EQ(l.K, 3);
  EXPECT_EQ(l.M, 2);
  EXPECT_EQ(l.w(0, 0, 1), 4.0f);  // alpha * B[1][0]
  // x = [1, 2, 3]: y0 = 2 (1 - 3) + 0.5 = -3.5; y1 = 2 (2 + 2) - 0.5 = 7.5; second sample x = [0, 0, 1]
  EXPECT_TRUE(all_near(run_model(m, {1, 2, 3, 0, 0, 1}, 2), {-3.5f, 7.5f, -1.5f, -0.5f}, 0));
}

TEST(OpsDense, MatMulConstantSecondOperandWithBiasAdd) {
  OnnxBuilder b({-1, 2, 2});  // tokens x features
  b.init("W", {2, 3}, {1, 2, 3, 4, 5, 6});
  b.init("bias", {3}, {0.5f, 0.25f, 0});
  b.node("MatMul", {"x", "W"}, {"t"});
  b.node("Add", {"t", "bias"}, {"y"});
  b.output("y");
  const auto m = b.build();
  ASSERT_EQ(m.weight_layers().size(), 1u);
  EXPECT_EQ(m.weight_layers()[0].bias.size(), 3u);  // the Add folded into the layer
  EXPECT_EQ(m.graph().nodes.size(), 1u);
  // rows [1, 1] and [0, 2]: [5, 7, 9] + bias and [8, 10, 12] + bias
  EXPECT_TRUE(all_near(run_model(m, {1, 1, 0, 2}, 1), {5.5f, 7.25f, 9, 8.5f, 10.25f, 12}, 0));
}

TEST(OpsDense, BatchNormFoldsIntoATwoDimensionalMatMulOnly) {
  // nn.Linear(bias=False) + BatchNorm1d exports as MatMul + BatchNormalization (VGG's head).
  const std::vector<float> scale = {2, 1}, bias = {0.5f, -1}, mean = {1, 0}, var = {4, 1};
  auto bn = [&](int c, float v) { return (v - mean[c]) / std::sqrt(var[c] + 1e-5f) * scale[c] + bias[c]; };
  auto add_bn = [&](OnnxBuilder& b) {
    b.init("s", {2}, scale);
    b.init("bi", {2}, bias);
    b.init("mu", {2}, mean);
    b.init("va", {2}, var);
    b.node("BatchNormalization", {"t", "s", "bi", "mu", "va"}, {"y"});
    b.output("y");
  };
  {
    OnnxBuilder b({-1, 3});
    b.init("W", {3, 2}, {1, 0, 0, 1, 1, 1});
    b.node("MatMul", {"x", "W"}, {"t"});
    add_bn(b);
    const auto m = b.build();
    EXPECT_EQ(m.graph().nodes.size(), 1u);  // folded: per output column
    // x = [1, 2, 3]: t = [4, 5]
    EXPECT_TRUE(all_near(run_model(m, {1, 2, 3}, 1), {bn(0, 4), bn(1, 5)}, 1e-6));
  }
  {
    OnnxBuilder b({-1, 2, 3});  // (batch, 2 tokens, 3): BatchNormalization normalizes the tokens (dim 1)
    b.init("W", {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
    b.node("MatMul", {"x", "W"}, {"t"});
    add_bn(b);
    const auto m = b.build();
    EXPECT_EQ(m.graph().nodes.size(), 2u);  // not foldable into the columns: runs digitally
    EXPECT_TRUE(all_near(run_model(m, {1, 2, 3, 4, 5, 6}, 1),
                         {bn(0, 1), bn(0, 2), bn(0, 3), bn(1, 4), bn(1, 5), bn(1, 6)}, 1e-6));
  }
}

TEST(OpsDense, MatMulConstantFirstOperand) {
  OnnxBuilder b({-1, 3, 2});  // Y = A (2 x 3) * X (3 x 2)
  b.init("A", {2, 3}, {1, 0, 2, 0, 1, -1});
  b.node("MatMul", {"A", "x"}, {"y"});
  b.output("y");
  const auto m = b.build();
  ASSERT_EQ(m.weight_layers().size(), 1u);
  EXPECT_TRUE(m.weight_layers()[0].constant_first);
  EXPECT_EQ(m.weight_layers()[0].K, 3);
  EXPECT_EQ(m.weight_layers()[0].M, 2);
  // X = [[1, 2], [3, 4], [5, 6]]: Y = [[11, 14], [-2, -2]]
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  EXPECT_TRUE(all_near(run_model(m, x, 1), {11, 14, -2, -2}, 0));
  struct Float : model::MatmulProvider {  // the provider path transposes around the product
    const model::Model* m;
    void matmul(int layer, int, const float* X, std::int64_t n, float* Y) override {
      const auto& l = m->weight_layers()[layer];
      for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t j = 0; j < l.M; ++j) {
          float s = 0;
          for (std::int64_t k = 0; k < l.K; ++k) s += X[r * l.K + k] * l.w(0, k, j);
          Y[r * l.M + j] = s;
        }
    }
  } p;
  p.m = &m;
  EXPECT_TRUE(all_near(run_model(m, x, 1, &p), {11, 14, -2, -2}, 0));
}

TEST(OpsDense, MatMulOfTwoActivationsBroadcasts) {
  // x: (batch, 2, 2, 2); y = x @ transpose(x) per (2x2) slice; and a (2,2) @ (batch,2,2,2) broadcast.
  OnnxBuilder b({-1, 2, 2, 2});
  b.node("Transpose", {"x"}, {"xt"}).ints("perm", {0, 1, 3, 2});
  b.node("MatMul", {"x", "xt"}, {"y"});
  b.output("y");
  const std::vector<float> x = {1, 2, 3, 4, 0, 1, 1, 0};
  // [[1,2],[3,4]] [[1,3],[2,4]] = [[5,11],[11,25]]; [[0,1],[1,0]] [[0,1],[1,0]] = I
  EXPECT_TRUE(all_near(run_model(b.build(), x, 1), {5, 11, 11, 25, 1, 0, 0, 1}, 0));

  OnnxBuilder c({-1, 2, 2});
  c.node("Slice", {"x", "s", "e", "a"}, {"row"});  // row = x[:, 0:1, :] (1 x 2)
  c.init_i64("s", {1}, {0});
  c.init_i64("e", {1}, {1});
  c.init_i64("a", {1}, {1});
  c.node("MatMul", {"row", "x"}, {"y"});  // (1 x 2) @ (2 x 2) per sample
  c.output("y");
  // sample [[1,2],[3,4]]: [1,2] @ [[1,2],[3,4]] = [7, 10]
  EXPECT_TRUE(all_near(run_model(c.build(), {1, 2, 3, 4}, 1), {7, 10}, 0));
}

}  // namespace
}  // namespace xbarmc
