// Tiny hand-checked cases (1x1 to 3x4) for every stage of the crossbar model: cell
// conductances, faults, variation, DAC schedule, column currents and level signals,
// ADC, the IR-drop models, and the whole product with its digital reconstruction.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "xbarmc/mapping/mapped_matrix.hpp"
#include "xbarmc/physics/adc.hpp"
#include "xbarmc/physics/cell.hpp"
#include "xbarmc/physics/crossbar.hpp"
#include "xbarmc/physics/dac.hpp"
#include "xbarmc/physics/ir_drop.hpp"

using namespace xbarmc;
using namespace xbarmc::physics;

namespace {

HardwareConfig ideal(int rows, int cols) {
  HardwareConfig hw;
  hw.rows = rows;
  hw.cols = cols;
  hw.sigma = hw.sigma_write_verify = 0;
  hw.p_stuck_off = hw.p_stuck_on = 0;
  return hw;
}

// Solves the dense system a x = b (n <= 16) by Gaussian elimination with pivoting.
std::vector<double> solve_dense(std::vector<std::vector<double>> a, std::vector<double> b) {
  const int n = static_cast<int>(b.size());
  for (int k = 0; k < n; ++k) {
    int p = k;
    for (int i = k + 1; i < n; ++i) {
      if (std::fabs(a[i][k]) > std::fabs(a[p][k])) p = i;
    }
    std::swap(a[k], a[p]);
    std::swap(b[k], b[p]);
    for (int i = k + 1; i < n; ++i) {
      const double f = a[i][k] / a[k][k];
      for (int j = k; j < n; ++j) a[i][j] -= f * a[k][j];
      b[i] -= f * b[k];
    }
  }
  std::vector<double> x(n);
  for (int i = n - 1; i >= 0; --i) {
    double s = b[i];
    for (int j = i + 1; j < n; ++j) s -= a[i][j] * x[j];
    x[i] = s / a[i][i];
  }
  return x;
}

}  // namespace

TEST(ReferenceTiny, CellConductances2x2) {
  HardwareConfig hw = ideal(2, 2);  // 1 uS .. 100 uS, 4 levels: 1, 34, 67, 100 uS
  CellModel m = cell_model(hw);
  EXPECT_NEAR(nominal_conductance(m, 0), 1e-6, 1e-18);
  EXPECT_NEAR(nominal_conductance(m, 1), 34e-6, 1e-18);
  EXPECT_NEAR(nominal_conductance(m, 2), 67e-6, 1e-18);
  EXPECT_NEAR(nominal_conductance(m, 3), 100e-6, 1e-18);
  EXPECT_FALSE(m.draw_faults);
  EXPECT_FALSE(m.draw_variation);
  CellFault f;
  EXPECT_DOUBLE_EQ(sample_cell(m, 1, 0, 0, 0, 3, 2, false, &f), nominal_conductance(m, 2));
  EXPECT_EQ(f, CellFault::none);
  // Certain faults: every cell at g_min (stuck-off) or g_max (stuck-on), variation or not.
  hw.sigma = 0.3;
  hw.p_stuck_off = 1;
  m = cell_model(hw);
  for (std::uint32_t e = 0; e < 4; ++e) {
    EXPECT_EQ(sample_cell(m, 9, 1, 2, 3, e, 2, false, &f), hw.g_min);
    EXPECT_EQ(f, CellFault::stuck_off);
  }
  hw.p_stuck_off = 0;
  hw.p_stuck_on = 1;
  m = cell_model(hw);
  EXPECT_EQ(sample_cell(m, 9, 1, 2, 3, 0, 0, false, &f), hw.g_max);
  EXPECT_EQ(f, CellFault::stuck_on);
  // The fault word against the thresholds round(p 2^32): p_off 0.25, p_on 0.5.
  hw.p_stuck_off = 0.25;
  hw.p_stuck_on = 0.5;
  m = cell_model(hw);
  EXPECT_EQ(cell_fault(m, 0x3FFFFFFFu), CellFault::stuck_off);
  EXPECT_EQ(cell_fault(m, 0x40000000u), CellFault::stuck_on);
  EXPECT_EQ(cell_fault(m, 0xBFFFFFFFu), CellFault::stuck_on);
  EXPECT_EQ(cell_fault(m, 0xC0000000u), CellFault::none);
}

TEST(ReferenceTiny, ProgrammingVariationFormula) {
  HardwareConfig hw = ideal(2, 2);
  hw.sigma = 0.1;
  hw.sigma_write_verify = 0.02;
  CellModel m = cell_model(hw);
  for (std::uint32_t e = 0; e < 4; ++e) {
    const rng::Block b = rng::draw_block(5, rng::Purpose::programming, 7, 1, 2, e);
    const double z = rng::normalf(b.v[0], b.v[1]);
    const int level = static_cast<int>(e);
    CellFault f;
    EXPECT_DOUBLE_EQ(sample_cell(m, 5, 7, 1, 2, e, level, false, &f), (1e-6 + level * 33e-6) * std::exp(0.1 * z));
    EXPECT_DOUBLE_EQ(sample_cell(m, 5, 7, 1, 2, e, level, true, &f), (1e-6 + level * 33e-6) * std::exp(0.02 * z));
  }
  hw.variation = Variation::normal;  // G + sigma (g_max - g_min) z, clipped at 0
  hw.sigma = 0.5;
  m = cell_model(hw);
  EXPECT_DOUBLE_EQ(programmed_conductance(m, 2, false, 0.4), 67e-6 + 0.5 * 99e-6 * 0.4);
  EXPECT_EQ(programmed_conductance(m, 0, false, -1.0), 0.0);
}

TEST(ReferenceTiny, DacSchedule3Rows) {
  // 4-bit unsigned inputs through a 2-bit DAC: 13 = 0b11'01 -> codes 1, 3; 6 = 0b01'10 -> 2, 1.
  const InputPlan p = input_plan(4, 2, false);
  EXPECT_EQ(p.phases, 1);
  EXPECT_EQ(p.steps, 2);
  EXPECT_EQ(p.dac_max, 3);
  EXPECT_EQ(dac_code(13, 0, 2), 1u);
  EXPECT_EQ(dac_code(13, 1, 2), 3u);
  EXPECT_EQ(dac_code(6, 0, 2), 2u);
  EXPECT_EQ(dac_code(6, 1, 2), 1u);
  EXPECT_EQ(dac_code(0, 1, 2), 0u);
  EXPECT_DOUBLE_EQ(row_voltage(2, 2, 0.2), 0.2 * 2 / 3);
  EXPECT_DOUBLE_EQ(row_voltage(1, 1, 0.2), 0.2);
  EXPECT_DOUBLE_EQ(step_weight(0, 1, 2), 4.0);
  EXPECT_DOUBLE_EQ(step_weight(1, 1, 2), -4.0);
  // Signed 3-bit codes: two phases of 2 magnitude bits; -5 runs in phase 1 only.
  const InputPlan s = input_plan(3, 1, true);
  EXPECT_EQ(s.phases, 2);
  EXPECT_EQ(s.magnitude_bits, 2);
  EXPECT_EQ(phase_magnitude(-5, 0), 0u);
  EXPECT_EQ(phase_magnitude(-5, 1), 5u);
  EXPECT_EQ(phase_magnitude(3, 0), 3u);
  EXPECT_EQ(phase_magnitude(3, 1), 0u);
  EXPECT_THROW(check_input_quantizer(quant::Quantizer{1.0f, -4, 4}, 3), InvalidConfig);
  EXPECT_NO_THROW(check_input_quantizer(quant::Quantizer{1.0f, -3, 3}, 3));
  EXPECT_THROW(check_input_quantizer(quant::Quantizer{1.0f, 0, 8}, 3), InvalidConfig);
}

TEST(ReferenceTiny, CurrentsToLevelSignals2x2) {
  // Levels [[0, 1], [2, 3]]: G = [[1, 34], [67, 100]] uS; row 0 driven at v_read (code 1 of a
  // 1-bit DAC), row 1 at 0 V: I = (0.2 uA, 6.8 uA); the level signals are the levels of row 0.
  const double G[2][2] = {{1e-6, 34e-6}, {67e-6, 100e-6}};
  const double i0 = 0.2 * G[0][0], i1 = 0.2 * G[0][1];
  EXPECT_NEAR(level_signal(i0, 1, 1, 0.2, 1e-6, 33e-6), 0.0, 1e-12);
  EXPECT_NEAR(level_signal(i1, 1, 1, 0.2, 1e-6, 33e-6), 1.0, 1e-12);
  // Both rows, 2-bit DAC codes (3, 1): V = (0.2, 0.2/3) V; s_c = 3 l0c + 1 l1c = (2, 6).
  const double v0 = 0.2, v1 = 0.2 / 3;
  EXPECT_NEAR(level_signal(v0 * G[0][0] + v1 * G[1][0], 4, 2, 0.2, 1e-6, 33e-6), 2.0, 1e-12);
  EXPECT_NEAR(level_signal(v0 * G[0][1] + v1 * G[1][1], 4, 2, 0.2, 1e-6, 33e-6), 6.0, 1e-12);
}

TEST(ReferenceTiny, AdcByHand) {
  // Full scale 30 levels, 3 bits: step max(1, 30/7), codes 0..7.
  const float step = adc_step(30.0f, 3);
  EXPECT_FLOAT_EQ(step, 30.0f / 7.0f);
  const float inv = adc_inverse_step(step);
  EXPECT_EQ(adc_code(7.4f, inv, 3), 2.0f);        // 7.4 * 7/30 = 1.727
  EXPECT_EQ(adc_code(100.0f, inv, 3), 7.0f);      // clipped at the top
  EXPECT_EQ(adc_code(-3.0f, inv, 3), 0.0f);       // and at 0
  EXPECT_EQ(adc_code(6.4285717f, inv, 3), 2.0f);  // 1.5 rounds half to even
  EXPECT_FLOAT_EQ(adc_reconstruct(7.4f, step, inv, 3), 2.0f * 30.0f / 7.0f);
  // The step is never below one level: a fine ADC on a small range is lossless.
  EXPECT_EQ(adc_step(6.0f, 8), 1.0f);
  EXPECT_EQ(adc_reconstruct(5.0f, 1.0f, 1.0f, 8), 5.0f);
  // adc_bits = 0: ideal, the signal passes unchanged.
  EXPECT_EQ(adc_step(30.0f, 0), 1.0f);
  EXPECT_EQ(adc_reconstruct(7.4f, 1.0f, 1.0f, 0), 7.4f);
  EXPECT_EQ(max_full_scale(1, 4, 3), 9.0f);
  EXPECT_EQ(max_full_scale(2, 16, 128), 3.0f * 15 * 128);
}

TEST(ReferenceTiny, StaticSeriesResistance2x2) {
  // R_series = r_driver + r_sense + r_wire ((c + 1) + (rows - r)).
  const Wires w{2.0, 10.0, 5.0};
  EXPECT_DOUBLE_EQ(series_resistance(w, 2, 0, 0), 15 + 2 * 3);
  EXPECT_DOUBLE_EQ(series_resistance(w, 2, 0, 1), 15 + 2 * 4);
  EXPECT_DOUBLE_EQ(series_resistance(w, 2, 1, 0), 15 + 2 * 2);
  EXPECT_DOUBLE_EQ(series_resistance(w, 2, 1, 1), 15 + 2 * 3);
  const std::vector<double> g = {1e-4, 2e-4, 0.0, 1e-3};
  std::vector<double> geff(4);
  transfer_static(g.data(), 2, 2, w, geff.data());
  EXPECT_DOUBLE_EQ(geff[0], 1.0 / (1e4 + 21));
  EXPECT_DOUBLE_EQ(geff[1], 1.0 / (5e3 + 23));
  EXPECT_EQ(geff[2], 0.0);
  EXPECT_DOUBLE_EQ(geff[3], 1.0 / (1e3 + 21));
}

TEST(ReferenceTiny, WireNetworksSolvedByHand) {
  const Wires w{2.0, 3.0, 4.0};
  const double rd = w.r_driver + w.r_wire, rs = w.r_wire + w.r_sense;
  double cur[2];
  // 1 x 1: one series path driver - wire - cell - wire - sense.
  {
    const double g = 1e-3, v = 0.2;
    currents_direct(&g, 1, 1, w, &v, cur);
    EXPECT_NEAR(cur[0], v / (rd + 1 / g + rs), 1e-15);
    double ge;
    transfer_exact(&g, 1, 1, w, &ge);
    EXPECT_NEAR(ge, 1 / (rd + 1 / g + rs), 1e-15);
  }
  // 1 x 2: the two cell branches in parallel behind the driver, one wire apart.
  {
    const double g[2] = {1e-3, 5e-4}, v = 0.3;
    const double r0 = 1 / g[0] + rs, r1 = w.r_wire + 1 / g[1] + rs;
    const double total = v / (rd + r0 * r1 / (r0 + r1));
    const double vw = v - total * rd;
    currents_direct(g, 1, 2, w, &v, cur);
    EXPECT_NEAR(cur[0], vw / r0, 1e-15);
    EXPECT_NEAR(cur[1], vw / r1, 1e-15);
    double ge[2];
    transfer_exact(g, 1, 2, w, ge);
    EXPECT_NEAR(ge[0] * v, vw / r0, 1e-15);
    EXPECT_NEAR(ge[1] * v, vw / r1, 1e-15);
  }
  // 2 x 1: both rows meet at the bottom bitline node; Millman's theorem gives its voltage.
  {
    const double g[2] = {1e-3, 2e-3}, v[2] = {0.2, 0.1};
    const double a = rd + 1 / g[0] + w.r_wire, b = rd + 1 / g[1], c = rs;
    const double vb = (v[0] / a + v[1] / b) / (1 / a + 1 / b + 1 / c);
    currents_direct(g, 2, 1, w, v, cur);
    EXPECT_NEAR(cur[0], vb / c, 1e-15);
    double ge[2];
    transfer_exact(g, 2, 1, w, ge);
    EXPECT_NEAR(ge[0] * v[0] + ge[1] * v[1], vb / c, 1e-15);
  }
}

TEST(ReferenceTiny, Network2x2AgainstHandWrittenNodalEquations) {
  // Unknowns: wordline nodes w00 w01 w10 w11, bitline nodes b00 b01 b10 b11 (indices 0..7).
  const Wires w{1.5, 0.5, 2.0};
  const double gw = 1 / w.r_wire, gd = 1 / (w.r_driver + w.r_wire), gs = 1 / (w.r_wire + w.r_sense);
  const double g[4] = {1e-3, 3e-4, 6e-4, 2e-4};  // cells (0,0) (0,1) (1,0) (1,1)
  const double v[2] = {0.2, 0.15};
  std::vector<std::vector<double>> a(8, std::vector<double>(8, 0.0));
  std::vector<double> b(8, 0.0);
  auto link = [&](int i, int j, double c) {
    a[i][i] += c;
    a[j][j] += c;
    a[i][j] -= c;
    a[j][i] -= c;
  };
  link(0, 1, gw);  // wordline 0
  link(2, 3, gw);  // wordline 1
  link(4, 6, gw);  // bitline 0
  link(5, 7, gw);  // bitline 1
  for (int k = 0; k < 4; ++k) link(k, 4 + k, g[k]);
  a[0][0] += gd;
  b[0] = gd * v[0];  // driver of row 0
  a[2][2] += gd;
  b[2] = gd * v[1];  // driver of row 1
  a[6][6] += gs;     // sense of column 0
  a[7][7] += gs;     // sense of column 1
  const std::vector<double> x = solve_dense(a, b);
  const double want[2] = {gs * x[6], gs * x[7]};
  double cur[2], geff[4];
  currents_direct(g, 2, 2, w, v, cur);
  transfer_exact(g, 2, 2, w, geff);
  double via_transfer[2];
  currents_from_transfer(geff, 2, 2, v, via_transfer);
  double iter[2];
  const IrStats st = currents_iterative(g, 2, 2, w, v, 1e-13, 100, iter);
  // PCG stops at ||r|| <= residual ||b||; then |dI_c| <= gs ||A^-1 r|| <= gs ||r|| / lambda_min.
  const double bound = gs * st.residual * std::hypot(b[0], b[2]) / nodal_min_eigenvalue(g, 2, 2, w);
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(via_transfer[c], want[c], 1e-14 * want[c]);
    EXPECT_NEAR(iter[c], want[c], bound + 1e-15 * want[c]);
  }
  currents_direct(g, 2, 2, w, v, cur);
  for (int c = 0; c < 2; ++c) EXPECT_NEAR(cur[c], want[c], 1e-14 * want[c]);
  EXPECT_LE(st.residual, 1e-13);
  EXPECT_GE(st.iterations, 1);
}

// A 2 x 2 tile with one 3-bit differential output: W = (0.5, -1) -> codes (2, -3),
// levels [[2, 0], [0, 3]]; input (3, 1) with 2-bit unsigned codes of unit scale.
// Reads (bits least significant first): (1,1) -> s = (2, 3); (1,0) -> s = (2, 0).
TEST(ReferenceTiny, Product2x2ByHand) {
  HardwareConfig hw = ideal(2, 2);
  hw.weight_bits = 3;
  hw.input_bits = 2;
  hw.adc_bits = 0;
  const std::vector<float> W = {0.5f, -1.0f}, X = {3.0f, 1.0f};
  const quant::Quantizer xq{1.0f, 0, 3};
  for (int adc_bits : {0, 2}) {
    hw.adc_bits = adc_bits;
    const MappedMatrix m = map_naive(W.data(), 2, 1, hw);
    ChipMatrix chip;
    instantiate(m, 1, 0, 0, chip);
    double fast = 0, ref = 0;
    float y = 0;
    CrossbarWorkspace ws;
    crossbar_matmul_raw(m, chip, xq, X.data(), 1, &fast, ws);
    crossbar_matmul_reference(m, chip, xq, X.data(), 1, &ref);
    crossbar_matmul(m, chip, xq, X.data(), 1, &y, ws);
    // Lossless: (2 + 2*2) - (3 + 0*2) = 3 = 3*2 + 1*(-3), times the weight scale 1/3.
    // 2-bit ADC with full scale 1*3*2 = 6: step 2, codes (1, 2) then (1, 0):
    // (2 + 2*2) - (4 + 0) = 2.
    const double want = adc_bits == 0 ? 3.0 : 2.0;
    EXPECT_EQ(fast, want);
    if (adc_bits == 0) {
      // The reference works from float geff (relative rounding 2^-24 per cell) in amperes:
      // |error| <= 2^-24 sum over reads of |weight| sum_r d_r G_r / dg = 2^-24 (101/33 + 68/33
      // + 2 (67/33 + 1/33)) < 1e-6.
      EXPECT_NEAR(ref, want, 1e-6);
    } else {
      EXPECT_EQ(ref, want);  // the ADC rounds the currents back to integers
    }
    EXPECT_FLOAT_EQ(y, static_cast<float>(want / 3.0));
  }
}

// A 3 x 4 tile: 4-bit offset weights (u = w + 7) in two 2-bit slices, two outputs;
// signed 3-bit inputs in two phases; 3-bit ADC with the max range (1 * 3 * 3 = 9
// levels: step 9/7).
TEST(ReferenceTiny, Product3x4ByHand) {
  HardwareConfig hw = ideal(3, 4);
  hw.weight_bits = 4;
  hw.sign_mode = SignMode::offset;
  hw.weight_scale = WeightScale::layer;
  hw.input_bits = 3;
  hw.adc_bits = 3;
  // Codes = W (scale 1); u = [[14, 6], [7, 10], [0, 9]]; levels (slice 0, slice 1) per output:
  // row 0: 2 3 | 2 1; row 1: 3 1 | 2 2; row 2: 0 0 | 1 2.
  const std::vector<float> W = {7, -1, 0, 3, -7, 2};
  const std::vector<float> X = {3, -2, 1};
  const quant::Quantizer xq{1.0f, -3, 3};
  const MappedMatrix m = map_naive(W.data(), 3, 2, hw);
  ASSERT_EQ(m.tiles.size(), 1u);
  EXPECT_EQ(m.tiles[0].level, (std::vector<std::uint8_t>{2, 3, 2, 1, 3, 1, 2, 2, 0, 0, 1, 2}));
  ChipMatrix chip;
  instantiate(m, 1, 0, 0, chip);
  // Phase +: magnitudes (3, 0, 1): reads (1,0,1) -> s = (2,3,3,3), (1,0,0) -> (2,3,2,1).
  // Phase -: magnitudes (0, 2, 0): reads (0,0,0) -> 0, (0,1,0) -> (3,1,2,2).
  // Codes rint(s * 7/9): (2,2,2,2), (2,2,2,1), (2,1,2,2).
  // Columns: 2+4-4 = 2, 2+4-2 = 4, 2+4-4 = 2, 2+2-4 = 0 steps of D = 9/7.
  // Outputs: 2 + 4*4 = 18 steps and 2 + 4*0 = 2 steps, minus the offset 7 * (3-2+1) = 14.
  const double d = static_cast<double>(9.0f / 7.0f);
  const double want[2] = {18 * d - 14, 2 * d - 14};
  double fast[2], ref[2];
  CrossbarWorkspace ws;
  crossbar_matmul_raw(m, chip, xq, X.data(), 1, fast, ws);
  crossbar_matmul_reference(m, chip, xq, X.data(), 1, ref);
  for (int j = 0; j < 2; ++j) {
    EXPECT_NEAR(fast[j], want[j], 1e-12);
    EXPECT_NEAR(ref[j], want[j], 1e-12);
  }
  // A lossless ADC gives the integer product: 3*7 + 1*(-7) = 14, 3*(-1) - 2*3 + 1*2 = -7.
  MappedMatrix lossless = m;
  lossless.hw.adc_bits = 4;  // step max(1, 9/15) = 1
  crossbar_matmul_raw(lossless, chip, xq, X.data(), 1, fast, ws);
  EXPECT_EQ(fast[0], 14.0);
  EXPECT_EQ(fast[1], -7.0);
}
