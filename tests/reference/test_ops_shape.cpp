// Shape and data-movement operators against hand-computed values, including the
// shape arithmetic torch.onnx.export emits for a dynamic batch.
#include <gtest/gtest.h>

#include "../common/onnx_builder.hpp"
#include "../common/vec_compare.hpp"

namespace xbarmc {
namespace {

using testing::all_near;
using testing::OnnxBuilder;
using testing::run_model;

const std::vector<float> kSix = {1, 2, 3, 4, 5, 6};

TEST(OpsShape, ReshapeFlattenTranspose) {
  {
    OnnxBuilder b({-1, 2, 3});
    b.init_i64("s", {3}, {0, 3, -1});  // 0 keeps the batch, -1 infers 2
    b.node("Reshape", {"x", "s"}, {"r"});
    b.node("Transpose", {"r"}, {"y"}).ints("perm", {0, 2, 1});
    b.output("y");
    // r = [[1,2],[3,4],[5,6]]; y = r^T
    EXPECT_TRUE(all_near(run_model(b.build(), kSix, 1), {1, 3, 5, 2, 4, 6}, 0));
  }
  {
    OnnxBuilder b({-1, 2, 3});
    b.node("Flatten", {"x"}, {"f"}).i("axis", 1);
    b.init("c", {3, 2}, {10, 20, 30, 40, 50, 60});
    b.node("Transpose", {"c"}, {"ct"});  // default perm reverses the dims; folded at load time
    b.node("Flatten", {"ct"}, {"cf"}).i("axis", 0);
    b.node("Add", {"f", "cf"}, {"y"});
    b.output("y");
    const auto m = b.build();
    EXPECT_EQ(m.num_classes(), 6);
    EXPECT_EQ(m.graph().nodes.size(), 2u);
    // c^T = [[10, 30, 50], [20, 40, 60]]
    EXPECT_TRUE(all_near(run_model(m, kSix, 1), {11, 32, 53, 24, 45, 66}, 0));
  }
}

TEST(OpsShape, DynamicBatchShapeChain) {
  // What torch exports for x.reshape(x.shape[0], -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
  OnnxBuilder b({-1, 2, 3}, 13);
  b.node("Shape", {"x"}, {"shape"});
  b.init_i64("zero", {}, {0});
  b.node("Gather", {"shape", "zero"}, {"n"}).i("axis", 0);
  b.init_i64("axes0", {1}, {0});
  b.node("Unsqueeze", {"n", "axes0"}, {"n1"});
  b.init_i64("minus1", {1}, {-1});
  b.node("Concat", {"n1", "minus1"}, {"target"}).i("axis", 0);
  b.node("Reshape", {"x", "target"}, {"y"});
  b.output("y");
  const auto m = b.build();
  EXPECT_EQ(m.num_classes(), 6);
  std::vector<float> x;
  for (int k = 0; k < 5 * 6; ++k) x.push_back(static_cast<float>(k));
  EXPECT_TRUE(all_near(run_model(m, x, 5), x, 0));  // batch 5: a plan for another batch size
}

TEST(OpsShape, ConcatSliceGather) {
  {
    OnnxBuilder b({-1, 2, 3});
    b.init("c", {1, 1, 3}, {7, 8, 9});
    b.init_i64("two", {1}, {1});
    b.node("Shape", {"x"}, {"sh"});
    b.node("Gather", {"sh", "zero"}, {"n"});
    b.init_i64("zero", {1}, {0});
    b.init_i64("rest", {2}, {1, 3});
    b.node("Concat", {"n", "rest"}, {"target"}).i("axis", 0);
    b.node("Expand", {"c", "target"}, {"ce"});  // (batch, 1, 3), as a class token
    b.node("Concat", {"ce", "x"}, {"y"}).i("axis", 1);
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), kSix, 1), {7, 8, 9, 1, 2, 3, 4, 5, 6}, 0));
  }
  {
    OnnxBuilder b({-1, 2, 3});
    b.init_i64("s", {1}, {-1});
    b.init_i64("e", {1}, {-100});
    b.init_i64("a", {1}, {2});
    b.init_i64("st", {1}, {-2});
    b.node("Slice", {"x", "s", "e", "a", "st"}, {"y"});  // x[:, :, ::-2]
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), kSix, 1), {3, 1, 6, 4}, 0));
  }
  {
    OnnxBuilder b({-1, 2, 3});
    b.init_i64("i", {}, {1});
    b.node("Gather", {"x", "i"}, {"y"}).i("axis", 1);  // x[:, 1] (drops the axis, as ViT's x[:, 0])
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), kSix, 1), {4, 5, 6}, 0));
  }
  {
    OnnxBuilder b({-1, 2, 3});
    b.init_i64("i", {2}, {2, 0});
    b.node("Gather", {"x", "i"}, {"y"}).i("axis", -1);
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), kSix, 1), {3, 1, 6, 4}, 0));
  }
}

TEST(OpsShape, SqueezeUnsqueezeBothOpsetStyles) {
  {  // opset 13: axes as an input
    OnnxBuilder b({-1, 1, 3}, 13);
    b.init_i64("a", {1}, {1});
    b.node("Squeeze", {"x", "a"}, {"s"});
    b.init_i64("b", {2}, {0, -1});
    b.node("Unsqueeze", {"s", "b"}, {"y"});  // (1, batch, 3, 1)
    b.output("y");
    const auto m = b.build();
    model::Executor ex(m);
    EXPECT_EQ(ex.output_shape(2), (model::Shape{1, 2, 3, 1}));
  }
  {  // opset 11: axes as an attribute
    OnnxBuilder b({-1, 1, 3}, 11);
    b.node("Squeeze", {"x"}, {"s"}).ints("axes", {1});
    b.node("Unsqueeze", {"s"}, {"y"}).ints("axes", {2});
    b.output("y");
    const auto m = b.build();
    model::Executor ex(m);
    EXPECT_EQ(ex.output_shape(4), (model::Shape{4, 3, 1}));
    EXPECT_TRUE(all_near(run_model(m, {1, 2, 3}, 1), {1, 2, 3}, 0));
  }
}

TEST(OpsShape, SplitTilePadCastRange) {
  {
    OnnxBuilder b({-1, 6});
    b.init_i64("parts", {2}, {2, 4});
    b.node("Split", {"x", "parts"}, {"a", "c"}).i("axis", 1);
    b.node("Sub", {"c", "a2"}, {"y"});  // c (batch,4) - tile(a, 2)
    b.init_i64("rep", {2}, {1, 2});
    b.node("Tile", {"a", "rep"}, {"a2"});
    b.output("y");
    // a = [1, 2] -> [1, 2, 1, 2]; c = [3, 4, 5, 6]
    EXPECT_TRUE(all_near(run_model(b.build(), kSix, 1), {2, 2, 4, 4}, 0));
  }
  {
    OnnxBuilder b({-1, 1, 2}, 13);
    b.init_i64("pads", {6}, {0, 0, 1, 0, 0, 2});
    b.init("v", {}, {-1});
    b.node("Pad", {"x", "pads", "v"}, {"y"});  // pad the last dim: 1 before, 2 after, with -1
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), {5, 6}, 1), {-1, 5, 6, -1, -1}, 0));
  }
  {
    OnnxBuilder b({-1, 4});
    b.init("start", {}, {0});
    b.init("limit", {}, {4});
    b.init("delta", {}, {1});
    b.node("Range", {"start", "limit", "delta"}, {"r"});  // [0, 1, 2, 3]
    b.node("Cast", {"x"}, {"xi"}).i("to", 7);             // float -> int64 truncates
    b.node("Cast", {"xi"}, {"xf"}).i("to", 1);
    b.node("Add", {"xf", "r"}, {"y"});
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), {1.7f, -1.7f, 2, 0.2f}, 1), {1, 0, 4, 3}, 0));
  }
}

TEST(OpsShape, ViewOpsShareBuffersWithoutClobbering) {
  // x -> Identity -> Relu (in place allowed only when x dies) and a residual back to x.
  OnnxBuilder b({-1, 4});
  b.node("Identity", {"x"}, {"i"});
  b.node("Relu", {"i"}, {"r"});
  b.node("Dropout", {"r"}, {"d"});
  b.node("Sub", {"d", "x"}, {"y"});  // relu(x) - x = max(-x, 0)
  b.output("y");
  EXPECT_TRUE(all_near(run_model(b.build(), {1, -2, 0, -0.5f}, 1), {0, 2, 0, 0.5f}, 0));
}

}  // namespace
}  // namespace xbarmc
