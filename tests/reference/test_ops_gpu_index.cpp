// The GPU's reduction and Tile/Pad kernels compute each output with the host/device
// bodies of kernels/cuda/ops_index.hpp; here those bodies run on the CPU, output by
// output, against the CPU executor on the same ONNX nodes: bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../../kernels/cuda/ops_index.hpp"
#include "../common/onnx_builder.hpp"

namespace xbarmc {
namespace {

using testing::OnnxBuilder;

std::vector<float> sample_values(std::size_t n) {
  std::vector<float> x(n);
  std::uint32_t h = 777;
  for (auto& v : x) {
    h = h * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<int>(h >> 20) % 1000 - 500) / 97.0f;
  }
  return x;
}

std::vector<float> cpu_output(OnnxBuilder& b, const std::vector<float>& x, std::int64_t batch) {
  b.output("y");
  const model::Model m = b.build();
  model::Executor ex(m, batch);
  std::vector<float> y(static_cast<std::size_t>(batch * m.num_classes()));
  ex.run(x.data(), batch, y.data());
  return y;
}

void expect_bitwise(const std::vector<float>& gpu, const std::vector<float>& cpu, const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  int bad = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i)
    if (std::memcmp(&gpu[i], &cpu[i], sizeof(float)) != 0 && ++bad <= 3)
      ADD_FAILURE() << what << " output " << i << ": GPU body " << gpu[i] << ", CPU " << cpu[i];
  EXPECT_EQ(bad, 0) << what;
}

TEST(OpsGpuIndex, ReductionsOverAnyAxesEqualTheCpuExecutor) {
  const std::vector<std::int64_t> shape{2, 3, 4, 5};  // batch 2
  const std::vector<float> x = sample_values(2 * 3 * 4 * 5);
  struct Case {
    const char* op;
    model::Reduce r;
    std::vector<std::int64_t> axes;
  };
  for (const Case& c : std::vector<Case>{{"ReduceSum", model::Reduce::sum, {1, 3}},
                                         {"ReduceMean", model::Reduce::mean, {2}},
                                         {"ReduceMax", model::Reduce::max, {1, 2}},
                                         {"ReduceMin", model::Reduce::min, {3}},
                                         {"ReduceProd", model::Reduce::prod, {1}},
                                         {"ReduceL2", model::Reduce::l2, {2, 3}},
                                         {"ReduceSumSquare", model::Reduce::sum_square, {1, 2, 3}}}) {
    OnnxBuilder b({-1, 3, 4, 5}, 13);
    if (std::string(c.op) == "ReduceSum") {
      b.init_i64("axes", {static_cast<std::int64_t>(c.axes.size())}, c.axes);
      b.node(c.op, {"x", "axes"}, {"r"});
    } else {
      b.node(c.op, {"x"}, {"r"}).ints("axes", c.axes);
    }
    b.node("Flatten", {"r"}, {"y"}).i("axis", 1);
    std::vector<float> cpu = cpu_output(b, x, 2);
    std::vector<char> reduced(4, 0);
    for (auto a : c.axes) reduced[a] = 1;
    const cuda::ops::ReduceDims d = cuda::ops::reduce_dims(shape, reduced);
    std::vector<float> gpu(static_cast<std::size_t>(cuda::ops::reduce_outputs(d)));
    for (std::size_t i = 0; i < gpu.size(); ++i) gpu[i] = cuda::ops::reduce_output(c.r, x.data(), d, i);
    expect_bitwise(gpu, cpu, std::string(c.op) + " over " + std::to_string(c.axes.size()) + " axes");
  }
}

TEST(OpsGpuIndex, TileAndPadEqualTheCpuExecutor) {
  const std::vector<std::int64_t> shape{2, 3, 4};  // batch 2
  const std::vector<float> x = sample_values(2 * 3 * 4);
  {
    OnnxBuilder b({-1, 3, 4}, 13);
    b.init_i64("rep", {3}, {1, 3, 2});
    b.node("Tile", {"x", "rep"}, {"y"});
    const std::vector<float> cpu = cpu_output(b, x, 2);
    const std::vector<std::int64_t> out{2, 9, 8};
    const cuda::ops::IndexDims d = cuda::ops::index_dims(shape, {0, 0, 0}, out);
    std::vector<float> gpu(2 * 9 * 8);
    for (std::size_t i = 0; i < gpu.size(); ++i)
      gpu[i] = cuda::ops::index_map_output(model::IndexMap::tile, x.data(), d, 0.0f, i);
    expect_bitwise(gpu, cpu, "Tile");
  }
  for (const auto& [mode, im] :
       std::vector<std::pair<std::string, model::IndexMap>>{{"constant", model::IndexMap::pad_constant},
                                                            {"reflect", model::IndexMap::pad_reflect},
                                                            {"edge", model::IndexMap::pad_edge}}) {
    OnnxBuilder b({-1, 3, 4}, 13);
    b.init_i64("pads", {6}, {0, 2, 1, 0, 1, 3});
    b.init("v", {}, {-7.25f});
    b.node("Pad", {"x", "pads", "v"}, {"y"}).s("mode", mode);
    const std::vector<float> cpu = cpu_output(b, x, 2);
    const std::vector<std::int64_t> out{2, 6, 8};
    const cuda::ops::IndexDims d = cuda::ops::index_dims(shape, {0, 2, 1}, out);
    std::vector<float> gpu(2 * 6 * 8);
    for (std::size_t i = 0; i < gpu.size(); ++i) gpu[i] = cuda::ops::index_map_output(im, x.data(), d, -7.25f, i);
    expect_bitwise(gpu, cpu, "Pad " + mode);
  }
}

}  // namespace
}  // namespace xbarmc
