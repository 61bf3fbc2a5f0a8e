// The digital operators of the GPU network against the CPU executor: small ONNX models
// of digital operators only (no weight layers), the same random input as a batch of
// trials x images, output compared value by value. Operators whose arithmetic is shared
// (elementwise.hpp, unary.hpp) or pure data movement must agree bit for bit; those that
// call expf, logf or powf (different libm on the GPU) within a few ulps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../../kernels/cuda/network_cuda.cuh"
#include "../common/onnx_builder.hpp"
#include "xbarmc/cuda/check.cuh"
#include "xbarmc/cuda/device_buffer.cuh"
#include "xbarmc/model/executor.hpp"

using namespace xbarmc;
using xbarmc::testing::OnnxBuilder;

namespace {

struct OpCase {
  std::string name;
  std::vector<std::int64_t> sample;  // input dims of one sample
  std::function<void(OnnxBuilder&)> build;
  double tol = 0.0;  // 0: bitwise; else |gpu - cpu| <= tol * (1 + |cpu|)
  int opset = 13;
};

std::vector<OpCase> cases() {
  std::vector<OpCase> c;
  c.push_back({"prelu_per_channel", {3, 4, 4}, [](OnnxBuilder& b) {
                 b.init("slope", {3, 1, 1}, {0.1f, -0.5f, 2.0f});
                 b.node("PRelu", {"x", "slope"}, {"y"});
               }});
  c.push_back({"mod_pow_max_min_sum", {2, 5}, [](OnnxBuilder& b) {
                 b.init("m", {}, {0.7f});
                 b.init("two", {}, {2.0f});
                 b.init("lim", {5}, {0.1f, -0.2f, 0.3f, 0.0f, 0.5f});
                 b.node("Mod", {"x", "m"}, {"a"}).i("fmod", 1);
                 b.node("Pow", {"x", "two"}, {"p"});
                 b.node("Max", {"a", "lim"}, {"mx"});
                 b.node("Min", {"p", "lim"}, {"mn"});
                 b.node("Sum", {"mx"}, {"s1"});  // one operand: a copy
                 b.node("Add", {"s1", "mn"}, {"y"});
               }});
  c.push_back({"pow_general",
               {7},
               [](OnnxBuilder& b) {
                 b.init("e", {}, {1.7f});
                 b.node("Abs", {"x"}, {"a"});
                 b.node("Pow", {"a", "e"}, {"y"});
               },
               4e-7});
  c.push_back({"global_max_and_average_pool", {4, 3, 5}, [](OnnxBuilder& b) {
                 b.node("GlobalMaxPool", {"x"}, {"m"});
                 b.node("GlobalAveragePool", {"x"}, {"a"});
                 b.node("Sub", {"m", "a"}, {"y"});
               }});
  c.push_back(
      {"log_softmax_axis1", {4, 6}, [](OnnxBuilder& b) { b.node("LogSoftmax", {"x"}, {"y"}).i("axis", 1); }, 2e-6});
  c.push_back({"softmax_opset11_flattened", {3, 4}, [](OnnxBuilder& b) { b.node("Softmax", {"x"}, {"y"}); }, 2e-6, 11});
  c.push_back({"reduce_sum_nonadjacent_axes", {3, 4, 5}, [](OnnxBuilder& b) {
                 b.init_i64("axes", {2}, {1, 3});
                 b.node("ReduceSum", {"x", "axes"}, {"y"});
               }});
  c.push_back({"reduce_max_min_prod_keepdims0", {3, 4}, [](OnnxBuilder& b) {
                 b.node("ReduceMax", {"x"}, {"a"}).ints("axes", {2}).i("keepdims", 0);
                 b.node("ReduceMin", {"x"}, {"c"}).ints("axes", {2}).i("keepdims", 0);
                 b.node("ReduceProd", {"x"}, {"d"}).ints("axes", {1}).i("keepdims", 0);
                 b.node("Concat", {"a", "c"}, {"ac"}).i("axis", 1);
                 b.node("Concat", {"ac", "d"}, {"y"}).i("axis", 1);
               }});
  c.push_back({"reduce_l2_sumsquare_mean", {6, 5}, [](OnnxBuilder& b) {
                 b.node("ReduceL2", {"x"}, {"a"}).ints("axes", {1});
                 b.node("ReduceSumSquare", {"x"}, {"c"}).ints("axes", {1});
                 b.node("ReduceMean", {"x"}, {"d"}).ints("axes", {1});
                 b.node("Concat", {"a", "c"}, {"ac"}).i("axis", 2);
                 b.node("Concat", {"ac", "d"}, {"y"}).i("axis", 2);
               }});
  c.push_back({"pad_constant_reflect_edge", {2, 3, 4}, [](OnnxBuilder& b) {
                 b.init_i64("pads", {8}, {0, 0, 1, 2, 0, 1, 2, 1});
                 b.init("v", {}, {-3.5f});
                 b.node("Pad", {"x", "pads", "v"}, {"p1"});
                 b.node("Pad", {"x", "pads"}, {"p2"}).s("mode", "reflect");
                 b.node("Pad", {"x", "pads"}, {"p3"}).s("mode", "edge");
                 b.node("Concat", {"p1", "p2"}, {"p12"}).i("axis", 1);
                 b.node("Concat", {"p12", "p3"}, {"y"}).i("axis", 1);
               }});
  c.push_back({"tile", {2, 3}, [](OnnxBuilder& b) {
                 b.init_i64("rep", {3}, {1, 3, 2});
                 b.node("Tile", {"x", "rep"}, {"y"});
               }});
  c.push_back({"split_three_ways", {7, 2}, [](OnnxBuilder& b) {
                 b.init_i64("parts", {3}, {2, 4, 1});
                 b.node("Split", {"x", "parts"}, {"a", "c", "d"}).i("axis", 1);
                 b.node("Concat", {"d", "a", "c"}, {"y"}).i("axis", 1);  // another order: every part used
               }});
  c.push_back({"where_constant_mask", {3, 4}, [](OnnxBuilder& b) {
                 b.init("m", {4}, {1.0f, -1.0f, 0.5f, -2.0f});
                 b.init("zero", {}, {0.0f});
                 b.init("fill", {}, {-1.5f});
                 b.node("Greater", {"m", "zero"}, {"mask"});  // folded on import: a boolean constant
                 b.node("Where", {"mask", "x", "fill"}, {"y"});
               }});
  // Boolean activations computed at run time (float 0 / 1 on the GPU): comparisons,
  // logical operators, Not, Cast to and from bool, data movement of booleans, Where on
  // them (the model of tests/reference/test_boolean_activations.cpp).
  c.push_back({"boolean_activations", {3, 4}, [](OnnxBuilder& b) {
                 b.init("zero", {}, {0.0f});
                 b.init("half", {}, {0.5f});
                 b.init("neg", {}, {-1.0f});
                 b.node("Greater", {"x", "zero"}, {"pos"});
                 b.node("LessOrEqual", {"x", "half"}, {"small"});
                 b.node("And", {"pos", "small"}, {"band"});
                 b.node("Not", {"band"}, {"nb"});
                 b.node("Equal", {"x", "zero"}, {"z"});  // the input has exact zeros
                 b.node("Or", {"nb", "z"}, {"o"});
                 b.node("Xor", {"o", "pos"}, {"xo"});
                 b.node("Transpose", {"xo"}, {"t"}).ints("perm", {0, 2, 1});
                 b.node("Transpose", {"t"}, {"tt"}).ints("perm", {0, 2, 1});
                 b.node("Cast", {"x"}, {"xb"}).i("to", 9);
                 b.node("Cast", {"band"}, {"bi"}).i("to", 7);
                 b.node("Where", {"tt", "x", "neg"}, {"w"});
                 b.node("Cast", {"bi"}, {"bf"}).i("to", 1);
                 b.node("Cast", {"xb"}, {"xbf"}).i("to", 1);
                 b.node("Add", {"w", "bf"}, {"s1"});
                 b.node("Add", {"s1", "xbf"}, {"y"});
               }});
  return c;
}

void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

class OpsCuda : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpsCuda, EqualsTheCpuExecutor) {
  const OpCase& oc = GetParam();
  std::vector<std::int64_t> dims{-1};
  dims.insert(dims.end(), oc.sample.begin(), oc.sample.end());
  OnnxBuilder b(dims, oc.opset);
  oc.build(b);
  b.output("y");
  const model::Model m = b.build();
  const int trials = 2;
  const std::int64_t images = 3, batch = trials * images;
  std::int64_t S = 1;
  for (auto d : oc.sample) S *= d;
  std::vector<float> x(static_cast<std::size_t>(batch * S));
  std::uint32_t h = 12345;
  for (auto& v : x) {  // values in [-2, 2) with some exact zeros and repeats
    h = h * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<int>(h >> 22) % 64 - 32) / 16.0f;
  }

  model::Executor ex(m, batch);
  const std::int64_t classes = m.num_classes();
  std::vector<float> cpu(static_cast<std::size_t>(batch * classes));
  ex.run(x.data(), batch, cpu.data());

  cuda::GpuNetwork net(m, trials, images, nullptr);
  XBARMC_CUDA_CHECK(cudaMemcpy(net.input(), x.data(), x.size() * sizeof(float), cudaMemcpyHostToDevice));
  net.run(cuda::CrossbarBinding{});
  std::vector<float> gpu(cpu.size());
  XBARMC_CUDA_CHECK(cudaMemcpy(gpu.data(), net.logits(), gpu.size() * sizeof(float), cudaMemcpyDeviceToHost));

  int bad = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    const bool ok = oc.tol == 0.0 ? (std::memcmp(&cpu[i], &gpu[i], sizeof(float)) == 0 ||
                                     (std::isnan(cpu[i]) && std::isnan(gpu[i])))
                                  : std::fabs(gpu[i] - cpu[i]) <= oc.tol * (1.0 + std::fabs(cpu[i]));
    if (!ok && ++bad <= 5) ADD_FAILURE() << oc.name << " output " << i << ": GPU " << gpu[i] << ", CPU " << cpu[i];
  }
  EXPECT_EQ(bad, 0) << oc.name << ": " << bad << " of " << cpu.size() << " outputs differ";
}

INSTANTIATE_TEST_SUITE_P(DigitalOps, OpsCuda, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<OpCase>& i) { return i.param.name; });

// (Integer activations computed at run time that are not booleans are refused by the
// plan, before any device memory: tests/cuda/test_network_plan.cpp, without a GPU.)

}  // namespace
