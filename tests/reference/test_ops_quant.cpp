// The digitally quantized products: calibration ranges, per-channel weight codes,
// input codes and exact integer sums, against values worked out by hand and against
// int64 arithmetic (float and double product paths).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../common/onnx_builder.hpp"
#include "../common/vec_compare.hpp"
#include "xbarmc/model/quantized.hpp"

namespace xbarmc {
namespace {

using testing::all_near;
using testing::OnnxBuilder;
using testing::run_model;

TEST(OpsQuant, CalibrationRecordsEachLayersInputRange) {
  // x -> Gemm(W1) -> Relu -> Gemm(W2): layer 0 sees x, layer 1 sees relu(x W1).
  OnnxBuilder b({-1, 2});
  b.init("w1", {2, 2}, {1, -1, 1, 1});
  b.init("w2", {2, 1}, {1, 1});
  b.node("Gemm", {"x", "w1"}, {"h"});
  b.node("Relu", {"h"}, {"r"});
  b.node("Gemm", {"r", "w2"}, {"y"});
  b.output("y");
  const auto m = b.build();
  const std::vector<float> x = {1, 2, -3, 0.5f, 0.25f, -1};
  // x W1 rows: [3, 1], [-2.5, 3.5], [-0.75, -1.25] -> relu: max 3.5, min 0
  const auto r = model::calibrate_input_ranges(m, x.data(), 3, 1);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0][0], std::make_pair(-3.0f, 2.0f));
  EXPECT_EQ(r[1][0], std::make_pair(0.0f, 3.5f));
}

TEST(OpsQuant, HandWorkedEightBitProduct) {
  OnnxBuilder b({-1, 2});
  b.init("w", {2, 2}, {0.5f, -1.0f, 0.2f, 0.75f});  // K = 2 rows, M = 2 columns
  b.node("MatMul", {"x", "w"}, {"y"});
  b.output("y");
  const auto m = b.build();
  model::InputRanges ranges = {{{0.0f, 2.0f}}};
  model::QuantizedMatmul q(m, ranges, 8, 8);
  // Column 0: max |w| 0.5 -> step 0.5/127; 0.5 -> 127, 0.2 -> rint(50.8) = 51.
  // Column 1: max |w| 1 -> step 1/127; -1 -> -127, 0.75 -> rint(95.25) = 95.
  // Inputs in [0, 2], unsigned 8 bits: step 2/255; 0.9 -> rint(114.75) = 115, 0.3 -> rint(38.25) = 38.
  EXPECT_EQ(q.weight_quantizer(0, 0, 0).quantize(0.2f), 51);
  EXPECT_EQ(q.weight_quantizer(0, 0, 1).quantize(0.75f), 95);
  EXPECT_EQ(q.input_quantizer(0, 0).quantize(0.9f), 115);
  EXPECT_EQ(q.input_quantizer(0, 0).hi, 255);
  const double sx = 2.0 / 255, s0 = 0.5 / 127, s1 = 1.0 / 127;
  const std::vector<float> e = {static_cast<float>((115 * 127 + 38 * 51) * sx * s0),
                                static_cast<float>((115 * -127 + 38 * 95) * sx * s1)};
  // The scales multiply in float (sx * s_m), so allow a few float ulps of the result.
  EXPECT_TRUE(all_near(run_model(m, {0.9f, 0.3f}, 1, &q), e, 1e-6));
  // Inputs beyond the calibrated range clip to the largest code.
  EXPECT_TRUE(all_near(run_model(m, {5.0f, 0.0f}, 1, &q),
                       {static_cast<float>(255 * 127 * sx * s0), static_cast<float>(255 * -127 * sx * s1)}, 1e-6));
}

// Quantized products equal an int64 reference for a small K (float path, sums < 2^24)
// and a large K (double path).
TEST(OpsQuant, IntegerSumsAreExactOnBothPaths) {
  // K = 40: one float product; 3000: float products over blocks of rows summed in double;
  // 16-bit weights and inputs: double products.
  for (int K : {40, 3000, 300}) {
    const int bits = K == 300 ? 16 : 8;
    std::mt19937 rng(K);
    std::normal_distribution<float> nd;
    const int M = 5, n = 7;
    std::vector<float> w(static_cast<std::size_t>(K) * M), x(static_cast<std::size_t>(n) * K);
    for (auto& v : w) v = nd(rng);
    for (auto& v : x) v = nd(rng);
    OnnxBuilder b({-1, K});
    b.init("w", {K, M}, w);
    b.node("MatMul", {"x", "w"}, {"y"});
    b.output("y");
    const auto m = b.build();
    const auto ranges = model::calibrate_input_ranges(m, x.data(), n, 1);
    model::QuantizedMatmul q(m, ranges, bits, bits);
    std::vector<float> e;
    for (int r = 0; r < n; ++r)
      for (int j = 0; j < M; ++j) {
        std::int64_t acc = 0;
        for (int k = 0; k < K; ++k)
          acc += static_cast<std::int64_t>(q.input_quantizer(0, 0).quantize(x[r * K + k])) *
                 q.weight_quantizer(0, 0, j).quantize(w[k * M + j]);
        e.push_back(static_cast<float>(static_cast<double>(acc)) *
                    (q.input_quantizer(0, 0).scale * q.weight_quantizer(0, 0, j).scale));
      }
    // Exact sums, then one float rounding of the product with the scales: relative 1e-6.
    const auto y = run_model(m, x, n, &q);
    ASSERT_EQ(y.size(), e.size());
    for (std::size_t k = 0; k < y.size(); ++k) EXPECT_NEAR(y[k], e[k], 1e-6 * std::fabs(e[k]) + 1e-12) << "K=" << K;
    // Input codes at and around the rounding ties equal the shared quantizer's.
    const auto& qi = q.input_quantizer(0, 0);
    std::vector<float> ties;
    for (int c = -5; c <= 5; ++c)
      for (float d : {-0.5f, 0.5f, 0.49999997f, 0.50000006f}) ties.push_back((c + d) * qi.scale);
    OnnxBuilder one({-1, K});
    std::vector<float> unit(static_cast<std::size_t>(K) * M, 0.0f);
    unit[0] = 1.0f;  // y[0] = code(x[0]) * code(1) * s_x * s_w
    one.init("w", {K, M}, unit);
    one.node("MatMul", {"x", "w"}, {"y"});
    one.output("y");
    const auto m1 = one.build();
    model::QuantizedMatmul q1(m1, ranges, bits, bits);
    const auto& qi1 = q1.input_quantizer(0, 0);
    for (float t : ties) {
      std::vector<float> xin(K, 0.0f);
      xin[0] = t;
      const float got = run_model(m1, xin, 1, &q1)[0];
      const auto& qw = q1.weight_quantizer(0, 0, 0);
      const float want =
          static_cast<float>(static_cast<std::int64_t>(qi1.quantize(t)) * qw.quantize(1.0f)) * (qi1.scale * qw.scale);
      EXPECT_EQ(got, want) << "x = " << t;
    }
  }
}

}  // namespace
}  // namespace xbarmc
