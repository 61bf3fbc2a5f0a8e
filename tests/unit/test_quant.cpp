#include <gtest/gtest.h>

#include <cmath>

#include "xbarmc/quant.hpp"

using namespace xbarmc::quant;

TEST(Quant, WeightRangeAndRounding) {
  const Quantizer q = weight_quantizer(1.27f, 8);
  EXPECT_EQ(q.hi, 127);
  EXPECT_EQ(q.lo, -127);
  EXPECT_FLOAT_EQ(q.scale, 0.01f);
  EXPECT_EQ(q.quantize(1.27f), 127);
  EXPECT_EQ(q.quantize(-5.0f), -127);
  EXPECT_EQ(q.quantize(0.004f), 0);
  EXPECT_EQ(q.quantize(0.016f), 2);
  EXPECT_EQ(q.quantize(-0.016f), -2);
  EXPECT_EQ(q.quantize(0.025f), 2);                        // half to even: 2.5 -> 2
  EXPECT_EQ(q.quantize(0.035f), 4);                        // 3.5 -> 4
  EXPECT_FLOAT_EQ(weight_quantizer(0.0f, 4).scale, 1.0f);  // an all-zero channel keeps a finite scale
  EXPECT_EQ(weight_quantizer(0.0f, 4).quantize(0.0f), 0);
}

TEST(Quant, ActivationsSignedOrUnsigned) {
  const Quantizer u = activation_quantizer(0.0f, 2.55f, 8);
  EXPECT_EQ(u.lo, 0);
  EXPECT_EQ(u.hi, 255);
  EXPECT_FALSE(u.is_signed());
  EXPECT_EQ(u.quantize(-1.0f), 0);
  EXPECT_EQ(u.quantize(2.55f), 255);
  const Quantizer s = activation_quantizer(-3.0f, 1.0f, 8);
  EXPECT_TRUE(s.is_signed());
  EXPECT_EQ(s.hi, 127);
  EXPECT_FLOAT_EQ(s.dequantize(s.quantize(-3.0f)), -3.0f);
}

// Zero skips the division (quantize's fast path): the same code as the division, rounding
// and clamps give, for signed, unsigned and shifted code ranges, +0 and -0.
TEST(Quant, ZeroGivesTheClampedCodeOfZero) {
  const auto slow = [](const Quantizer& q, float x) {
    float v = rintf(x / q.scale);
    v = v < static_cast<float>(q.lo) ? static_cast<float>(q.lo) : v;
    v = v > static_cast<float>(q.hi) ? static_cast<float>(q.hi) : v;
    return static_cast<int>(v);
  };
  for (const Quantizer& q :
       {weight_quantizer(1.27f, 8), activation_quantizer(0.0f, 2.55f, 8), activation_quantizer(-3.0f, 1.0f, 4),
        weight_quantizer(0.0f, 4), Quantizer{0.5f, 2, 9}, Quantizer{0.5f, -9, -3}, Quantizer{1e-30f, -7, 7}}) {
    for (float z : {0.0f, -0.0f}) EXPECT_EQ(q.quantize(z), slow(q, z)) << q.lo << ".." << q.hi;
  }
  EXPECT_EQ((Quantizer{0.5f, 2, 9}.quantize(0.0f)), 2);
  EXPECT_EQ((Quantizer{0.5f, -9, -3}.quantize(-0.0f)), -3);
}
