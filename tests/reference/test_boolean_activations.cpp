// model::boolean_activations: which int64 activations computed at run time hold only 0 and
// 1 (the GPU network keeps those as float 0 / 1 and refuses the others). The models are
// the ones tests/cuda/test_ops_cuda.cpp runs on a GPU against the CPU executor; here
// they also bind and run on the CPU executor.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../common/classified_values.hpp"
#include "../common/onnx_builder.hpp"
#include "xbarmc/model/bind.hpp"
#include "xbarmc/model/executor.hpp"

namespace xbarmc {
namespace {

using testing::OnnxBuilder;

using Classified = testing::ClassifiedValues;

Classified classify(OnnxBuilder& b, std::int64_t batch) {
  b.output("y");
  Classified c{b.build(), {}, {}};
  c.bg = model::bind_graph(c.m, batch);
  c.flags = model::boolean_activations(c.m, c.bg);
  // The CPU executor runs the model (what the GPU test compares against).
  model::Executor ex(c.m, batch);
  std::vector<float> x(static_cast<std::size_t>(batch * 12)), y(static_cast<std::size_t>(batch * c.m.num_classes()));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i % 9) - 4) / 4.0f;
  ex.run(x.data(), batch, y.data());
  return c;
}

TEST(BooleanActivations, ComparisonsLogicalOperatorsAndTheirDataMovementAreBooleans) {
  OnnxBuilder b({-1, 3, 4});
  b.init("zero", {}, {0.0f});
  b.init("half", {}, {0.5f});
  b.init("neg", {}, {-1.0f});
  b.init_i64("ones", {1, 3, 4}, std::vector<std::int64_t>(12, 1));
  b.node("Greater", {"x", "zero"}, {"pos"});
  b.node("LessOrEqual", {"x", "half"}, {"small"});
  b.node("And", {"pos", "small"}, {"band"});
  b.node("Not", {"band"}, {"nb"});
  b.node("Equal", {"x", "zero"}, {"z"});
  b.node("Or", {"nb", "z"}, {"o"});
  b.node("Xor", {"o", "pos"}, {"xo"});
  b.node("Transpose", {"xo"}, {"t"}).ints("perm", {0, 2, 1});
  b.node("Transpose", {"t"}, {"tt"}).ints("perm", {0, 2, 1});
  b.node("Concat", {"tt", "ones"}, {"cat"}).i("axis", 0);  // with a constant of ones: still 0 / 1
  b.node("Cast", {"x"}, {"xb"}).i("to", 9);                // float to bool
  b.node("Cast", {"band"}, {"bi"}).i("to", 7);             // bool to int64: still 0 / 1
  b.node("Where", {"tt", "x", "neg"}, {"w"});              // float branches: a float result
  b.node("Cast", {"bi"}, {"bf"}).i("to", 1);
  b.node("Cast", {"xb"}, {"xbf"}).i("to", 1);
  b.node("Add", {"w", "bf"}, {"s1"});
  b.node("Add", {"s1", "xbf"}, {"y"});
  Classified c = classify(b, 4);
  for (const char* v : {"pos", "small", "band", "nb", "z", "o", "xo", "t", "tt", "cat", "xb", "bi"})
    EXPECT_EQ(c.of(v), 1) << v;
  for (const char* v : {"x", "w", "bf", "xbf", "s1", "y", "zero", "ones"}) EXPECT_EQ(c.of(v), 0) << v;
}

TEST(BooleanActivations, IntegersComputedAtRunTimeAreNot) {
  OnnxBuilder b({-1, 3, 4});
  b.init_i64("two", {}, {2});
  b.node("Cast", {"x"}, {"xi"}).i("to", 7);  // float to int64: any integer
  b.node("Mul", {"xi", "two"}, {"m"});
  b.node("Greater", {"x", "x"}, {"g"});
  b.node("Cast", {"g"}, {"gi"}).i("to", 7);
  b.node("Add", {"gi", "gi"}, {"sum"});  // 0 / 1 + 0 / 1: up to 2
  b.node("Add", {"m", "sum"}, {"a"});
  b.node("Cast", {"a"}, {"y"}).i("to", 1);
  Classified c = classify(b, 2);
  EXPECT_EQ(c.of("g"), 1);
  EXPECT_EQ(c.of("gi"), 1);
  for (const char* v : {"xi", "m", "sum", "a", "y"}) EXPECT_EQ(c.of(v), 0) << v;
}

}  // namespace
}  // namespace xbarmc
