// Conv against hand-computed values, and against a naive direct convolution over
// strides, pads, dilations and groups, through both the float path and a provider.
#include <gtest/gtest.h>

#include <random>

#include "../common/onnx_builder.hpp"
#include "../common/vec_compare.hpp"

namespace xbarmc {
namespace {

using testing::all_near;
using testing::OnnxBuilder;
using testing::run_model;

std::vector<float> iota(int n, float start = 1.0f) {
  std::vector<float> v(n);
  for (int k = 0; k < n; ++k) v[k] = start + static_cast<float>(k);
  return v;
}

TEST(OpsConv, HandValuesNoPadding) {
  OnnxBuilder b({-1, 1, 3, 3});
  b.init("w", {1, 1, 2, 2}, {1, 2, 3, 4});
  b.node("Conv", {"x", "w"}, {"y"});
  b.output("y");
  // x = [[1,2,3],[4,5,6],[7,8,9]]; y[i][j] = x[i][j] + 2 x[i][j+1] + 3 x[i+1][j] + 4 x[i+1][j+1]
  EXPECT_TRUE(all_near(run_model(b.build(), iota(9), 1), {37, 47, 67, 77}, 0));
}

TEST(OpsConv, HandValuesPadStrideBias) {
  OnnxBuilder b({-1, 1, 3, 3});
  b.init("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  b.init("b", {1}, {0.5f});
  b.node("Conv", {"x", "w", "b"}, {"y"}).ints("pads", {1, 1, 1, 1}).ints("strides", {2, 2});
  b.output("y");
  // 3x3 sums of the zero-padded input centred on (0,0), (0,2), (2,0), (2,2), plus 0.5.
  EXPECT_TRUE(all_near(run_model(b.build(), iota(9), 1), {12.5, 16.5, 24.5, 28.5}, 0));
}

TEST(OpsConv, HandValuesDilation) {
  OnnxBuilder b({-1, 1, 5, 5});
  b.init("w", {1, 1, 2, 2}, {1, 1, 1, 1});
  b.node("Conv", {"x", "w"}, {"y"}).ints("dilations", {2, 2});
  b.output("y");
  // x[i][j] = 5i + j; y[i][j] = x[i][j] + x[i][j+2] + x[i+2][j] + x[i+2][j+2] = 4 (5i + j) + 24
  std::vector<float> e;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) e.push_back(4.0f * (5 * i + j) + 24.0f);
  EXPECT_TRUE(all_near(run_model(b.build(), iota(25, 0.0f), 1), e, 0));
}

TEST(OpsConv, HandValuesChannelsAndGroups) {
  {  // 2 -> 2 channels, 1x1: y0 = x0 + 2 x1 + 10, y1 = 3 x0 + 4 x1 + 20
    OnnxBuilder b({-1, 2, 1, 2});
    b.init("w", {2, 2, 1, 1}, {1, 2, 3, 4});
    b.init("b", {2}, {10, 20});
    b.node("Conv", {"x", "w", "b"}, {"y"});
    b.output("y");
    // x0 = [1, 2], x1 = [3, 4]
    EXPECT_TRUE(all_near(run_model(b.build(), {1, 2, 3, 4}, 1), {17, 20, 35, 42}, 0));
  }
  {  // depthwise (group = 2): y0 = 2 x0, y1 = 3 x1
    OnnxBuilder b({-1, 2, 1, 2});
    b.init("w", {2, 1, 1, 1}, {2, 3});
    b.node("Conv", {"x", "w"}, {"y"}).i("group", 2);
    b.output("y");
    const auto m = b.build();
    ASSERT_EQ(m.weight_layers().size(), 1u);
    EXPECT_EQ(m.weight_layers()[0].groups, 2);
    EXPECT_EQ(m.weight_layers()[0].K, 1);
    EXPECT_EQ(m.weight_layers()[0].M, 1);
    EXPECT_TRUE(all_near(run_model(m, {1, 2, 3, 4}, 1), {2, 4, 9, 12}, 0));
  }
}

TEST(OpsConv, HandValuesSameUpperAndOneD) {
  {
    OnnxBuilder b({-1, 1, 4, 4});
    b.init("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0f));
    b.node("Conv", {"x", "w"}, {"y"}).s("auto_pad", "SAME_UPPER").ints("strides", {2, 2});
    b.output("y");
    // x[i][j] = 4i + j; total pad 1 goes to the bottom/right (SAME_UPPER).
    EXPECT_TRUE(all_near(run_model(b.build(), iota(16, 0.0f), 1), {45, 39, 66, 50}, 0));
  }
  {
    OnnxBuilder b({-1, 1, 5});
    b.init("w", {1, 1, 2}, {1, -1});
    b.node("Conv", {"x", "w"}, {"y"});
    b.output("y");
    EXPECT_TRUE(all_near(run_model(b.build(), {1, 2, 4, 7, 11}, 1), {-1, -2, -3, -4}, 0));
  }
}

// A float provider that multiplies naively: the executor's provider path must give
// the same results as its sgemm path.
class NaiveProvider : public model::MatmulProvider {
 public:
  explicit NaiveProvider(const model::Model& m) : m_(m) {}
  void matmul(int layer, int group, const float* X, std::int64_t n, float* Y) override {
    const auto& l = m_.weight_layers()[layer];
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t j = 0; j < l.M; ++j) {
        double s = 0;
        for (std::int64_t k = 0; k < l.K; ++k) s += static_cast<double>(X[r * l.K + k]) * l.w(group, k, j);
        Y[r * l.M + j] = static_cast<float>(s);
      }
    ++calls;
  }
  int calls = 0;

 private:
  const model::Model& m_;
};

struct ConvCase {
  int N, C, H, W, M, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, G;
};

std::vector<float> naive_conv(const ConvCase& c, const std::vector<float>& x, const std::vector<float>& w,
                              const std::vector<float>& bias, int* OH, int* OW) {
  *OH = (c.H + c.pt + c.pb - ((c.kh - 1) * c.dh + 1)) / c.sh + 1;
  *OW = (c.W + c.pl + c.pr - ((c.kw - 1) * c.dw + 1)) / c.sw + 1;
  const int Cg = c.C / c.G, Mg = c.M / c.G;
  std::vector<float> y(static_cast<std::size_t>(c.N) * c.M * *OH * *OW);
  for (int n = 0; n < c.N; ++n)
    for (int m = 0; m < c.M; ++m)
      for (int oy = 0; oy < *OH; ++oy)
        for (int ox = 0; ox < *OW; ++ox) {
          double s = bias[m];
          const int g = m / Mg;
          for (int ci = 0; ci < Cg; ++ci)
            for (int ky = 0; ky < c.kh; ++ky)
              for (int kx = 0; kx < c.kw; ++kx) {
                const int iy = oy * c.sh - c.pt + ky * c.dh, ix = ox * c.sw - c.pl + kx * c.dw;
                if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W) continue;
                s += static_cast<double>(x[((n * c.C + g * Cg + ci) * c.H + iy) * c.W + ix]) *
                     w[((m * Cg + ci) * c.kh + ky) * c.kw + kx];
              }
          y[((n * c.M + m) * *OH + oy) * *OW + ox] = static_cast<float>(s);
        }
  return y;
}

TEST(OpsConv, MatchesNaiveConvolutionOverGeometries) {
  const std::vector<ConvCase> cases = {
      {3, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},      // same padding
      {2, 4, 9, 9, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2},      // stride 2, 2 groups
      {2, 4, 8, 8, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 4},      // depthwise, dilation 2
      {5, 2, 6, 7, 3, 2, 3, 2, 1, 0, 1, 1, 0, 1, 1, 1},      // asymmetric kernel, stride and pads
      {3, 8, 5, 5, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},     // 1x1 (direct path)
      {2, 3, 28, 28, 8, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},    // LeNet-like: bands of output rows
      {1, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // ResNet stage 1
      {2, 6, 24, 24, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 2},    // vertical dilation only, groups
      // Direct AVX2 path: 5 output channels (a partial block of 4), 19 output columns (a
      // partial block of 16), vertical stride 2, asymmetric pads.
      {2, 3, 13, 19, 5, 3, 2, 2, 1, 1, 0, 1, 1, 1, 1, 1},
      {1, 2, 6, 40, 7, 1, 3, 1, 1, 0, 1, 0, 1, 1, 1, 1},  // 40 columns: two full blocks + 8
  };
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const auto& c : cases) {
    const int Cg = c.C / c.G;
    std::vector<float> x(static_cast<std::size_t>(c.N) * c.C * c.H * c.W),
        w(static_cast<std::size_t>(c.M) * Cg * c.kh * c.kw), bias(c.M);
    for (auto& v : x) v = u(rng);
    for (auto& v : w) v = u(rng);
    for (auto& v : bias) v = u(rng);
    OnnxBuilder b({-1, c.C, c.H, c.W});
    b.init("w", {c.M, Cg, c.kh, c.kw}, w);
    b.init("b", {c.M}, bias);
    b.node("Conv", {"x", "w", "b"}, {"y"})
        .ints("kernel_shape", {c.kh, c.kw})
        .ints("strides", {c.sh, c.sw})
        .ints("pads", {c.pt, c.pl, c.pb, c.pr})
        .ints("dilations", {c.dh, c.dw})
        .i("group", c.G);
    b.output("y");
    const auto m = b.build();
    int OH, OW;
    const auto e = naive_conv(c, x, w, bias, &OH, &OW);
    // Float sums of at most C*kh*kw = 75 terms of magnitude <= 1: rounding stays far below 1e-4.
    EXPECT_TRUE(all_near(run_model(m, x, c.N), e, 1e-4)) << "case C=" << c.C << " G=" << c.G;
    NaiveProvider p(m);
    EXPECT_TRUE(all_near(run_model(m, x, c.N, &p), e, 1e-4)) << "provider path, case C=" << c.C;
    EXPECT_GE(p.calls, c.G);
  }
}

}  // namespace
}  // namespace xbarmc
