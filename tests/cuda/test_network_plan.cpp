// The GPU network's plan without a GPU: GpuNetwork::bytes_per_sample runs the plan of
// GpuNetwork (the shared bind pass, the classification of boolean activations, the
// refusals, the activation storage by lifetime) up to its first device allocation, so
// this part of the CUDA backend is tested on every machine that compiles it. (The first
// GPU session of the warp kernel found every GPU network crashing in this plan, which no
// test without a GPU had reached.)
#include <gtest/gtest.h>

#include <string>

#include "../../kernels/cuda/network_cuda.cuh"
#include "../common/onnx_builder.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/model/model.hpp"

using namespace xbarmc;
using xbarmc::testing::OnnxBuilder;

namespace {

const std::string kModels = std::string(XBARMC_SOURCE_DIR) + "/experiments/models/";

// Every bundled model plans, with more activation bytes per sample than its input and
// its scores take.
TEST(GpuNetworkPlan, TheBundledModelsPlanWithoutAGpu) {
  for (const char* name : {"lenet5", "vgg", "resnet20", "vit"}) {
    const model::Model m = model::Model::load(kModels + name + ".onnx");
    std::int64_t in = 1;
    for (std::size_t d = 1; d < m.input_shape().size(); ++d) in *= m.input_shape()[d];
    const std::size_t bytes = cuda::GpuNetwork::bytes_per_sample(m);
    EXPECT_GT(bytes, static_cast<std::size_t>(in + m.num_classes()) * sizeof(float)) << name;
  }
}

// Boolean activations computed at run time plan (kept as float 0 / 1); other integer
// activations are refused, naming the node and the way out, before any device memory is
// asked for.
TEST(GpuNetworkPlan, BooleanActivationsPlanAndOtherIntegerActivationsAreRefused) {
  {
    OnnxBuilder b({-1, 3, 4});
    b.init("zero", {}, {0.0f});
    b.node("Greater", {"x", "zero"}, {"pos"});
    b.node("Not", {"pos"}, {"neg"});
    b.node("Cast", {"neg"}, {"y"}).i("to", 1);
    b.output("y");
    EXPECT_GT(cuda::GpuNetwork::bytes_per_sample(b.build()), 0u);
  }
  OnnxBuilder b({-1, 3, 4});
  b.init_i64("two", {}, {2});
  b.node("Cast", {"x"}, {"xi"}).i("to", 7);
  b.node("Mul", {"xi", "two"}, {"m"});
  b.node("Cast", {"m"}, {"y"}).i("to", 1);
  b.output("y");
  try {
    cuda::GpuNetwork::bytes_per_sample(b.build());
    FAIL() << "an int64 activation was accepted";
  } catch (const Unsupported& e) {
    const std::string what = e.what();  // names the node, what it is and the way out
    EXPECT_NE(what.find("integer activation computed at run time"), std::string::npos) << what;
    EXPECT_NE(what.find("--backend cpu"), std::string::npos) << what;
  }
}

}  // namespace
