// model::same_per_trial_values: which activations hold the same data for every trial when
// every trial's input holds the same images (the GPU network then computes a crossbar
// layer's float reference for the first trial only and copies it to the others).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../common/classified_values.hpp"
#include "../common/onnx_builder.hpp"
#include "xbarmc/model/bind.hpp"

namespace xbarmc {
namespace {

using testing::OnnxBuilder;

using Classified = testing::ClassifiedValues;

Classified classify(const model::Model& m, int trials, std::int64_t images) {
  Classified c{m, {}, {}};
  c.bg = model::bind_graph(c.m, trials * images);
  c.flags = model::same_per_trial_values(c.m, c.bg, trials);
  return c;
}

std::vector<float> ramp(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
  return v;
}

// x [B, 2, 3, 4] normalized per channel, then a convolution (a crossbar layer).
OnnxBuilder normalized_conv() {
  OnnxBuilder b({-1, 2, 3, 4});
  b.init("mean", {1, 2, 1, 1}, {0.5f, -0.25f});
  b.init("scale", {2, 1, 1}, {2.0f, 4.0f});
  b.init("w", {3, 2, 2, 2}, ramp(24));
  b.node("Sub", {"x", "mean"}, {"centered"});
  b.node("Mul", {"centered", "scale"}, {"scaled"});
  b.node("Relu", {"scaled"}, {"act"});
  b.node("Conv", {"act", "w"}, {"conv"});  // [B, 3, 2, 3]
  return b;
}

TEST(SamePerTrial, InputNormalizationAndUnaryOpsKeepItAndACrossbarOutputDoesNot) {
  OnnxBuilder plain = normalized_conv();
  plain.node("Flatten", {"conv"}, {"flat"});
  plain.output("flat");
  const Classified c = classify(plain.build(), 4, 3);
  EXPECT_EQ(c.of("x"), 1);
  EXPECT_EQ(c.of("centered"), 1);
  EXPECT_EQ(c.of("scaled"), 1);  // a constant of lower rank
  EXPECT_EQ(c.of("act"), 1);     // unary
  EXPECT_EQ(c.of("conv"), 0);    // a crossbar layer's output differs from chip to chip
  EXPECT_EQ(c.of("flat"), 0);
}

TEST(SamePerTrial, AConstantThatVariesAlongTheFirstAxisOrARowAcrossTrialsIsNot) {
  // x [B, 3, 4] with B = 2 trials x 2 images.
  OnnxBuilder b({-1, 3, 4});
  b.init("row4", {1, 4}, ramp(4));
  b.init("col", {3, 1}, ramp(3));
  b.init("full", {4, 3, 4}, ramp(48));  // as long as the batch along the first axis
  b.init_i64("rows", {2}, {-1, 4});     // [B x 3, 4]: 12 rows, 6 per trial
  b.init_i64("cols", {2}, {3, -1});     // [3, B x 4]: a row holds parts of two trials
  b.init("one", {1, 1}, {3.0f});
  b.node("Add", {"x", "col"}, {"a"});       // rank 2 < 3: the same for each sample
  b.node("Add", {"x", "full"}, {"f"});      // varies along the batch axis
  b.node("Reshape", {"x", "rows"}, {"r"});  // a view
  b.node("Mul", {"r", "row4"}, {"rm"});     // 12 rows: 6 per trial
  b.node("Reshape", {"x", "cols"}, {"c"});
  // 3 rows, not a multiple of the 2 trials: refused whatever the constant (the same data
  // here, since the constant is one number; a row-long one would differ from trial to trial)
  b.node("Mul", {"c", "one"}, {"cm"});
  b.node("Add", {"a", "a"}, {"aa"});                          // two same-per-trial operands of one shape
  b.node("Add", {"a", "f"}, {"af"});                          // one operand is not
  b.node("Transpose", {"a"}, {"t"}).ints("perm", {1, 0, 2});  // moves the batch axis
  b.node("Flatten", {"aa"}, {"y"});                           // (the other values are bound and planned too)
  b.output("y");
  const model::Model m = b.build();
  const Classified c = classify(m, 2, 2);
  EXPECT_EQ(c.of("a"), 1);
  EXPECT_EQ(c.of("f"), 0);
  EXPECT_EQ(c.of("r"), 1);
  EXPECT_EQ(c.of("rm"), 1);
  EXPECT_EQ(c.of("c"), 1);  // a view: its storage is the input's
  EXPECT_EQ(c.of("cm"), 0);
  EXPECT_EQ(c.of("aa"), 1);
  EXPECT_EQ(c.of("af"), 0);
  EXPECT_EQ(c.of("t"), 0);
  // One trial: its block is the whole tensor, and "cm" is the same too.
  const Classified one = classify(m, 1, 4);
  EXPECT_EQ(one.of("cm"), 1);
  EXPECT_EQ(one.of("f"), 0);  // (the rule does not look at the constant's values)
}

// The bundled networks: the first crossbar layer reads the input; no later one does.
class SamePerTrialModels : public ::testing::TestWithParam<std::string> {};

TEST_P(SamePerTrialModels, OnlyTheFirstCrossbarLayerReadsASamePerTrialInput) {
  const model::Model m =
      model::Model::load(std::string(XBARMC_SOURCE_DIR) + "/experiments/models/" + GetParam() + ".onnx");
  const Classified c = classify(m, 3, 2);
  const auto& nodes = m.graph().nodes;
  int layers = 0, same_inputs = 0, first = -1;
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    const int l = m.node_layer(static_cast<int>(k));
    if (l < 0) continue;
    const auto& wl = m.weight_layers()[l];
    const int xin = wl.constant_first ? nodes[k].inputs[1] : nodes[k].inputs[0];
    if (first < 0) first = l;
    ++layers;
    if (c.flags[xin]) {
      ++same_inputs;
      EXPECT_EQ(l, first) << "layer " << l << " of " << GetParam();
    }
  }
  EXPECT_GT(layers, 1);
  EXPECT_EQ(same_inputs, 1) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Bundled, SamePerTrialModels, ::testing::Values("lenet5", "resnet20", "vgg", "vit"));

}  // namespace
}  // namespace xbarmc
