// Elementwise operators against hand-computed values (and libm values where a
// closed form is not exact).
#include <gtest/gtest.h>

#include <cmath>

#include "../common/onnx_builder.hpp"
#include "../common/vec_compare.hpp"

namespace xbarmc {
namespace {

using testing::all_near;
using testing::OnnxBuilder;
using testing::run_model;

/// y = op(x) for a (batch, 4) input.
std::vector<float> unary(const std::string& op, const std::vector<float>& x, int opset = 17,
                         void (*setup)(OnnxBuilder&, testing::NodeRef&) = nullptr) {
  OnnxBuilder b({-1, 4}, opset);
  auto n = b.node(op, {"x"}, {"y"});
  if (setup) setup(b, n);
  b.output("y");
  return run_model(b.build(), x, static_cast<std::int64_t>(x.size() / 4));
}

TEST(OpsElementwise, UnaryHandValues) {
  const std::vector<float> x = {-2, -0.5f, 0, 3};
  EXPECT_TRUE(all_near(unary("Relu", x), {0, 0, 0, 3}, 0));
  EXPECT_TRUE(all_near(unary("Neg", x), {2, 0.5f, 0, -3}, 0));
  EXPECT_TRUE(all_near(unary("Abs", x), {2, 0.5f, 0, 3}, 0));
  EXPECT_TRUE(all_near(unary("Sigmoid", {0, 0, 0, 0}), {0.5f, 0.5f, 0.5f, 0.5f}, 0));
  EXPECT_TRUE(all_near(unary("Sqrt", {0, 1, 4, 2.25f}), {0, 1, 2, 1.5f}, 0));
  EXPECT_TRUE(all_near(unary("Reciprocal", {1, 2, 4, -0.5f}), {1, 0.5f, 0.25f, -2}, 0));
  EXPECT_TRUE(all_near(unary("Floor", {-1.5f, -0.5f, 0.5f, 1.5f}), {-2, -1, 0, 1}, 0));
  EXPECT_TRUE(all_near(unary("Round", {-1.5f, -0.5f, 0.5f, 2.5f}), {-2, 0, 0, 2}, 0));  // half to even
  // erf(0.5) = 0.5204998778..., tanh(1) = 0.7615941559..., exp(1) = e
  EXPECT_TRUE(all_near(unary("Erf", {0, 0.5f, -0.5f, 10}), {0, 0.52049988f, -0.52049988f, 1}, 1e-7));
  EXPECT_TRUE(all_near(unary("Tanh", {0, 1, -1, 20}), {0, 0.76159416f, -0.76159416f, 1}, 1e-7));
  EXPECT_TRUE(all_near(unary("Exp", {0, 1, -1, 2}), {1, 2.7182818f, 0.36787944f, 7.3890561f}, 1e-6));
  EXPECT_TRUE(all_near(unary("Log", {1, 2.7182818f, 0.5f, 4}), {0, 1, -0.69314718f, 1.3862944f}, 1e-6));
  EXPECT_TRUE(all_near(unary("LeakyRelu", x, 17, [](OnnxBuilder&, testing::NodeRef& n) { n.f("alpha", 0.1f); }),
                       {-0.2f, -0.05f, 0, 3}, 1e-7));
  EXPECT_TRUE(all_near(unary("HardSigmoid", x, 17, [](OnnxBuilder&, testing::NodeRef& n) { n.f("alpha", 0.25f); }),
                       {0, 0.375f, 0.5f, 1}, 0));  // clamp(0.25 x + 0.5, 0, 1)
  // GELU (opset 20 op, accepted): 0.5 x (1 + erf(x / sqrt 2)); gelu(1) = 0.8413447
  EXPECT_TRUE(all_near(unary("Gelu", {0, 1, -1, 3}), {0, 0.84134475f, -0.15865525f, 2.9959502f}, 1e-6));
}

TEST(OpsElementwise, ClipFromInputsAndFromAttributes) {
  OnnxBuilder b({-1, 4});
  b.init("lo", {}, {-1});
  b.init("hi", {}, {2});
  b.node("Clip", {"x", "lo", "hi"}, {"y"});
  b.output("y");
  EXPECT_TRUE(all_near(run_model(b.build(), {-3, 0.5f, 2, 7}, 1), {-1, 0.5f, 2, 2}, 0));

  OnnxBuilder c({-1, 4}, 11);
  c.init("hi", {}, {6});
  c.node("Clip", {"x", "", "hi"}, {"y"});  // ReLU6 style: min omitted
  c.output("y");
  EXPECT_TRUE(all_near(run_model(c.build(), {-3, 0.5f, 6, 7}, 1), {-3, 0.5f, 6, 6}, 0));
}

TEST(OpsElementwise, BinaryWithBroadcasting) {
  // x: (batch, 2, 3); c: (3) broadcast over rows; s: scalar.
  auto run = [](const std::string& op, const std::vector<float>& c_val, const std::vector<std::int64_t>& c_shape) {
    OnnxBuilder b({-1, 2, 3});
    b.init("c", c_shape, c_val);
    b.node(op, {"x", "c"}, {"y"});
    b.output("y");
    return run_model(b.build(), {1, 2, 3, 4, 5, 6}, 1);
  };
  EXPECT_TRUE(all_near(run("Add", {10, 20, 30}, {3}), {11, 22, 33, 14, 25, 36}, 0));
  EXPECT_TRUE(all_near(run("Sub", {1, 2}, {2, 1}), {0, 1, 2, 2, 3, 4}, 0));  // column vector
  EXPECT_TRUE(all_near(run("Mul", {2}, {}), {2, 4, 6, 8, 10, 12}, 0));
  EXPECT_TRUE(all_near(run("Div", {1, 2, 4}, {1, 1, 3}), {1, 1, 0.75f, 4, 2.5f, 1.5f}, 0));
  EXPECT_TRUE(all_near(run("Pow", {2}, {}), {1, 4, 9, 16, 25, 36}, 0));
  EXPECT_TRUE(all_near(run("Pow", {0.5f}, {}),
                       {1, std::sqrt(2.0f), std::sqrt(3.0f), 2, std::sqrt(5.0f), std::sqrt(6.0f)}, 1e-6));
  EXPECT_TRUE(all_near(run("Max", {3, 3, 3}, {3}), {3, 3, 3, 4, 5, 6}, 0));
  EXPECT_TRUE(all_near(run("Min", {3}, {1}), {1, 2, 3, 3, 3, 3}, 0));
  EXPECT_TRUE(all_near(run("PRelu", {0.5f}, {1}), {1, 2, 3, 4, 5, 6}, 0));

  // Constant first operand broadcast against the activation: c - x
  OnnxBuilder b({-1, 2, 3});
  b.init("c", {2, 1}, {10, 100});
  b.node("Sub", {"c", "x"}, {"y"});
  b.output("y");
  EXPECT_TRUE(all_near(run_model(b.build(), {1, 2, 3, 4, 5, 6}, 1), {9, 8, 7, 96, 95, 94}, 0));
}

TEST(OpsElementwise, AddOfTwoActivationsAndFusedRelu) {
  // y = relu(x + x * -2) = relu(-x): a residual-style Add followed by a fused ReLU.
  OnnxBuilder b({-1, 4});
  b.init("k", {}, {-2});
  b.node("Mul", {"x", "k"}, {"t"});
  b.node("Add", {"x", "t"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  b.output("y");
  const auto m = b.build();
  EXPECT_EQ(m.graph().nodes.size(), 2u);  // the ReLU fused into the Add
  EXPECT_TRUE(m.node_fused_relu(1));
  EXPECT_TRUE(all_near(run_model(m, {1, -2, 0, 3}, 1), {0, 2, 0, 0}, 0));
}

TEST(OpsElementwise, WhereAndComparisons) {
  OnnxBuilder b({-1, 4});
  b.init("zero", {}, {0});
  b.init("minus", {}, {-1});
  b.node("Greater", {"x", "zero"}, {"pos"});
  b.node("Where", {"pos", "x", "minus"}, {"y"});
  b.output("y");
  EXPECT_TRUE(all_near(run_model(b.build(), {2, -3, 0, 0.5f}, 1), {2, -1, -1, 0.5f}, 0));
}

}  // namespace
}  // namespace xbarmc
