// Ideal hardware (no variation, no faults, no wire resistance, ideal or lossless ADC)
// reproduces the integer quantized product q_x q_W bit for bit, for shapes that do not
// divide the tile, in every encoding.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "xbarmc/mapping/mapped_matrix.hpp"
#include "xbarmc/physics/crossbar.hpp"

using namespace xbarmc;

namespace {

HardwareConfig ideal_hardware() {
  HardwareConfig hw;
  hw.sigma = 0;
  hw.sigma_write_verify = 0;
  hw.p_stuck_off = 0;
  hw.p_stuck_on = 0;
  hw.read_noise = 0;
  hw.ir_drop = IrDrop::none;
  return hw;
}

struct Case {
  SignMode sign;
  int bpc;
  int weight_bits;
  int input_bits;
  int dac_bits;
  bool signed_inputs;
  int adc_bits;  // 0 ideal, or large enough to be lossless
  int rows;
  int cols;
};

void check_case(const Case& cs, std::mt19937& gen) {
  HardwareConfig hw = ideal_hardware();
  hw.sign_mode = cs.sign;
  hw.bits_per_cell = cs.bpc;
  hw.weight_bits = cs.weight_bits;
  hw.input_bits = cs.input_bits;
  hw.dac_bits = cs.dac_bits;
  hw.adc_bits = cs.adc_bits;
  hw.rows = cs.rows;
  hw.cols = cs.cols;
  std::uniform_int_distribution<int> dim(1, 3 * std::max(cs.rows, 8));
  const std::int64_t K = dim(gen), M = dim(gen) / 2 + 1, n = 37;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> W(static_cast<std::size_t>(K * M)), X(static_cast<std::size_t>(n * K));
  for (auto& w : W) w = nd(gen);
  for (auto& x : X) x = cs.signed_inputs ? nd(gen) : std::fabs(nd(gen)) * (gen() % 4 == 0 ? 0.0f : 1.0f);
  const MappedMatrix m = map_naive(W.data(), K, M, hw);
  if (cs.adc_bits > 0) {
    // Lossless: the ADC step is 1 level when 2^adc_bits - 1 >= the full scale.
    for (const auto& t : m.tiles) {
      for (float f : t.adc_full_scale) ASSERT_LE(f, float((1 << cs.adc_bits) - 1)) << "case needs more adc_bits";
    }
  }
  const quant::Quantizer xq = cs.signed_inputs ? quant::activation_quantizer(-3.0f, 3.0f, cs.input_bits)
                                               : quant::activation_quantizer(0.0f, 2.5f, cs.input_bits);
  ChipMatrix chip;
  instantiate(m, 7, 0, 0, chip);
  EXPECT_EQ(chip.stuck_cells(), 0);
  std::vector<double> raw(static_cast<std::size_t>(n * M)), ref(raw.size());
  std::vector<std::int64_t> exact(raw.size());
  CrossbarWorkspace ws;
  crossbar_matmul_raw(m, chip, xq, X.data(), n, raw.data(), ws);
  integer_matmul(m, xq, X.data(), n, exact.data());
  crossbar_matmul_reference(m, chip, xq, X.data(), n, ref.data());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    ASSERT_EQ(raw[i], static_cast<double>(exact[i])) << "fast path, K " << K << " M " << M << " output " << i;
    ASSERT_EQ(static_cast<std::int64_t>(raw[i]), exact[i]);
    if (cs.adc_bits > 0) {
      // The reference rounds physical currents in amperes; a lossless ADC restores the integers.
      ASSERT_EQ(ref[i], static_cast<double>(exact[i])) << "reference, output " << i;
    }
  }
  // The scaled product is the integer product times both scales.
  std::vector<float> Y(raw.size());
  crossbar_matmul(m, chip, xq, X.data(), n, Y.data(), ws);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < M; ++j) {
      const double want = static_cast<double>(exact[i * M + j]) * m.weight_scale[j] * xq.scale;
      ASSERT_EQ(Y[i * M + j], static_cast<float>(want));
    }
  }
}

}  // namespace

TEST(PhysicsProperty, IdealHardwareReproducesIntegerProduct) {
  std::mt19937 gen(12345);
  const std::vector<Case> cases = {
      {SignMode::differential, 2, 8, 8, 1, false, 0, 128, 128},
      {SignMode::differential, 2, 8, 8, 1, false, 9, 128, 128},  // full scale 384 < 511
      {SignMode::differential, 1, 8, 8, 1, true, 0, 64, 96},
      {SignMode::differential, 4, 8, 6, 2, false, 0, 32, 40},
      {SignMode::differential, 4, 5, 5, 3, true, 12, 20, 33},
      {SignMode::offset, 2, 8, 8, 1, false, 0, 128, 128},
      {SignMode::offset, 1, 6, 7, 1, true, 8, 30, 50},
      {SignMode::offset, 4, 8, 4, 4, false, 0, 17, 19},
      {SignMode::offset, 2, 16, 16, 1, true, 0, 16, 64},  // 16-bit weights and inputs: two plane chunks
      {SignMode::differential, 2, 2, 1, 1, false, 0, 5, 3},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    for (int rep = 0; rep < 3; ++rep) check_case(cases[i], gen);
  }
}
