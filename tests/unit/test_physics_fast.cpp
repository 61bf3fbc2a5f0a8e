// The fast crossbar path (subset-sum reads, float accumulation) against the plain double
// reference (column currents in amperes) on non-ideal hardware, the subset-sum kernel
// against a direct sum, and the fast path's independence from batching and threads.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "xbarmc/mapping/mapped_matrix.hpp"
#include "xbarmc/physics/adc.hpp"
#include "xbarmc/physics/crossbar.hpp"
#include "xbarmc/physics/dac.hpp"
#include "xbarmc/physics/subset_table.hpp"

using namespace xbarmc;

namespace {

struct Problem {
  MappedMatrix m;
  ChipMatrix chip;
  quant::Quantizer xq;
  std::vector<float> X;
  std::int64_t n;
};

Problem make_problem(const HardwareConfig& hw, std::int64_t K, std::int64_t M, std::int64_t n, bool signed_inputs,
                     unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> W(static_cast<std::size_t>(K * M));
  for (auto& w : W) w = nd(gen);
  Problem p{map_naive(W.data(), K, M, hw), {}, {}, std::vector<float>(static_cast<std::size_t>(n * K)), n};
  for (auto& x : p.X) x = signed_inputs ? nd(gen) : std::max(0.0f, nd(gen));
  p.xq = signed_inputs ? quant::activation_quantizer(-2.5f, 2.5f, hw.input_bits)
                       : quant::activation_quantizer(0.0f, 2.5f, hw.input_bits);
  instantiate(p.m, seed, 1, 2, p.chip);
  return p;
}

// Per output, a bound on |fast - reference| from float rounding: both paths sum the same
// terms d_r * level_eff[r][c] per read, each term and partial sum rounded to float at most
// (groups + 24) times in all (effective levels, subset tables, group sums, DAC planes,
// step sums; float geff and the float signal in the reference), so |error| <= 2^-24
// (groups + 24) sum_reads |weight| sum_r d_r (2 geff + g_min) / dg, plus the same for the
// read-noise term, whose standard normal is at most 6.8 in magnitude (Box-Muller of 2^-33).
std::vector<double> rounding_bound(const Problem& p) {
  const HardwareConfig& hw = p.m.hw;
  const physics::InputPlan plan = physics::input_plan(hw.input_bits, hw.dac_bits, p.xq.is_signed());
  const double dg = hw.level_step();
  const double groups = (hw.rows + 3) / 4;
  std::vector<double> bound(static_cast<std::size_t>(p.n * p.m.M), 0.0);
  std::vector<std::int32_t> q(static_cast<std::size_t>(p.m.K));
  for (std::int64_t i = 0; i < p.n; ++i) {
    physics::quantize_inputs(p.xq, &p.X[i * p.m.K], p.m.K, q.data());
    for (std::size_t t = 0; t < p.m.tiles.size(); ++t) {
      const TileMap& tm = p.m.tiles[t];
      const TileState& ts = p.chip.tiles[t];
      for (int phase = 0; phase < plan.phases; ++phase) {
        for (int step = 0; step < plan.steps; ++step) {
          for (int c = 0; c < hw.cols; ++c) {
            const ColumnRole& role = tm.col_role[c];
            if (role.logical < 0) continue;
            double a = 0, noise = 0;
            for (int r = 0; r < hw.rows; ++r) {
              if (tm.row_of[r] < 0) continue;
              const double d = physics::dac_code(physics::phase_magnitude(q[tm.row_of[r]], phase), step, plan.dac_bits);
              const double ge = ts.geff[r * hw.cols + c];
              a += d * (2 * ge + hw.g_min) / dg;
              noise += d * d * (ge / dg) * (ge / dg);
            }
            const double w = std::ldexp(1.0, step * plan.dac_bits + role.slice * hw.bits_per_cell);
            bound[i * p.m.M + role.logical] +=
                w * 0x1p-24 * ((groups + 24) * a + (hw.rows + 8) * hw.read_noise * std::sqrt(noise) * 6.8);
          }
        }
      }
    }
  }
  return bound;
}

void compare(const Problem& p, const std::string& what) {
  std::vector<double> fast(static_cast<std::size_t>(p.n * p.m.M)), ref(fast.size());
  CrossbarWorkspace ws;
  crossbar_matmul_raw(p.m, p.chip, p.xq, p.X.data(), p.n, fast.data(), ws, 5, 1, 2, 0);
  crossbar_matmul_reference(p.m, p.chip, p.xq, p.X.data(), p.n, ref.data(), 5, 1, 2, 0);
  const std::vector<double> bound = rounding_bound(p);
  double worst = 0;
  for (std::size_t i = 0; i < fast.size(); ++i) {
    ASSERT_NEAR(fast[i], ref[i], bound[i] + 1e-9) << what << ", output " << i;
    if (bound[i] > 0) worst = std::max(worst, std::fabs(fast[i] - ref[i]) / bound[i]);
  }
  std::printf("    %s: largest |fast - reference| = %.3f of its rounding bound\n", what.c_str(), worst);
}

HardwareConfig small(int rows, int cols) {
  HardwareConfig hw;
  hw.rows = rows;
  hw.cols = cols;
  hw.adc_bits = 0;
  hw.sigma = 0.1;
  hw.p_stuck_off = hw.p_stuck_on = 0.02;
  return hw;
}

}  // namespace

TEST(PhysicsFast, SubsetReadEqualsDirectSum) {
  std::mt19937 gen(21);
  std::uniform_real_distribution<float> u(-1.0f, 4.0f);
  for (const auto& [rows, cols] : {std::pair{1, 1}, {7, 17}, {128, 128}, {33, 50}}) {
    std::vector<float> vals(static_cast<std::size_t>(rows) * cols);
    for (auto& v : vals) v = std::round(u(gen) * 4) / 4;  // quarter steps: every sum exact in float
    physics::SubsetTable table;
    physics::build_subset_table(vals.data(), rows, cols, table);
    for (int planes : {1, 3, 8, 11, 16}) {
      const int nv = 5;
      std::vector<std::uint16_t> mag(static_cast<std::size_t>(nv) * rows);
      for (auto& m : mag) m = static_cast<std::uint16_t>(gen() & ((1u << planes) - 1) & (gen() % 3 ? ~0u : 0u));
      physics::ReadPlan plan;
      physics::plan_reads(mag.data(), nv, rows, planes, plan);
      const int stride = table.col_blocks * physics::table_block_cols;
      std::vector<float> out(static_cast<std::size_t>(nv) * planes * stride, -1.0f);
      physics::subset_read(table, plan, nv, table.col_blocks, out.data(), stride);
      for (int v = 0; v < nv; ++v) {
        for (int p = 0; p < planes; ++p) {
          for (int c = 0; c < cols; ++c) {
            float want = 0;
            for (int r = 0; r < rows; ++r) {
              if ((mag[v * rows + r] >> p) & 1u) want += vals[r * cols + c];
            }
            ASSERT_EQ(out[(v * planes + p) * stride + c], want)
                << rows << " x " << cols << ", planes " << planes << ", vector " << v << " plane " << p << " col " << c;
          }
        }
      }
    }
  }
}

TEST(PhysicsFast, MatchesReferenceOnNonIdealHardware) {
  {
    HardwareConfig hw = small(40, 64);  // lognormal variation, faults, 8-bit bit-serial
    compare(make_problem(hw, 100, 19, 12, false, 1), "lognormal + faults");
  }
  {
    HardwareConfig hw = small(33, 50);
    hw.variation = Variation::normal;
    hw.sign_mode = SignMode::offset;
    hw.dac_bits = 3;
    hw.bits_per_cell = 1;
    compare(make_problem(hw, 70, 5, 10, true, 2), "normal, offset, signed, 3-bit DAC, 1-bit cells");
  }
  {
    HardwareConfig hw = small(24, 48);
    hw.ir_drop = IrDrop::static_resistance;
    hw.r_wire = 2;
    hw.r_driver = 10;
    hw.bits_per_cell = 4;
    compare(make_problem(hw, 50, 20, 10, false, 3), "static IR drop, 4-bit cells");
  }
  {
    HardwareConfig hw = small(24, 32);
    hw.ir_drop = IrDrop::exact;
    hw.g_max = 1e-3;
    compare(make_problem(hw, 30, 7, 10, true, 4), "exact IR drop, signed");
  }
  {
    HardwareConfig hw = small(16, 24);
    hw.ir_drop = IrDrop::iterative;
    hw.r_sense = 5;
    compare(make_problem(hw, 16, 3, 10, false, 5), "iterative IR drop");
  }
  {
    HardwareConfig hw = small(32, 32);
    hw.read_noise = 0.05;
    hw.dac_bits = 2;
    compare(make_problem(hw, 40, 8, 10, false, 6), "read noise, 2-bit DAC");
  }
}

TEST(PhysicsFast, LossyAdcOnIdealCells) {
  // Integer signals through a lossy ADC, simulated here independently of both paths.
  HardwareConfig hw;
  hw.rows = 40;
  hw.cols = 48;
  hw.sigma = hw.sigma_write_verify = 0;
  hw.p_stuck_off = hw.p_stuck_on = 0;
  hw.adc_bits = 5;
  hw.dac_bits = 2;
  Problem p = make_problem(hw, 90, 11, 9, true, 7);
  const physics::InputPlan plan = physics::input_plan(hw.input_bits, hw.dac_bits, true);
  std::vector<double> fast(static_cast<std::size_t>(p.n * p.m.M)), ref(fast.size()), want(fast.size(), 0.0),
      magnitude(fast.size(), 0.0);
  CrossbarWorkspace ws;
  crossbar_matmul_raw(p.m, p.chip, p.xq, p.X.data(), p.n, fast.data(), ws);
  crossbar_matmul_reference(p.m, p.chip, p.xq, p.X.data(), p.n, ref.data());
  std::vector<std::int32_t> q(static_cast<std::size_t>(p.m.K));
  for (std::int64_t i = 0; i < p.n; ++i) {
    physics::quantize_inputs(p.xq, &p.X[i * p.m.K], p.m.K, q.data());
    for (const TileMap& tm : p.m.tiles) {
      for (int phase = 0; phase < 2; ++phase) {
        for (int step = 0; step < plan.steps; ++step) {
          for (int c = 0; c < hw.cols; ++c) {
            const ColumnRole& role = tm.col_role[c];
            if (role.logical < 0) continue;
            std::int64_t s = 0;
            for (int r = 0; r < hw.rows; ++r) {
              if (tm.row_of[r] >= 0) {
                s += physics::dac_code(physics::phase_magnitude(q[tm.row_of[r]], phase), step, 2) *
                     tm.level[r * hw.cols + c];
              }
            }
            const float d = physics::adc_step(tm.adc_full_scale[c], hw.adc_bits);
            const float code = physics::adc_code(static_cast<float>(s), 1.0f / d, hw.adc_bits);
            const double term = std::ldexp(1.0, 2 * step + 2 * role.slice) * static_cast<double>(code) * d;
            want[i * p.m.M + role.logical] += (phase ? -1.0 : 1.0) * role.sign * term;
            magnitude[i * p.m.M + role.logical] += term;
          }
        }
      }
    }
  }
  for (std::size_t i = 0; i < fast.size(); ++i) {
    EXPECT_NEAR(fast[i], want[i], 1e-9 * std::fabs(want[i]) + 1e-9) << "output " << i;
    // The reference's signal carries float geff rounding (~1e-5 levels here), far from the
    // half-step boundaries of these integer signals unless a signal is exactly on one; it
    // rounds each code * step to float (2^-24 of each term).
    EXPECT_NEAR(ref[i], want[i], 0x1p-24 * magnitude[i] + 1e-9) << "output " << i;
  }
}

TEST(PhysicsFast, NonIdealAdcAgreesUpToRareBoundaryFlips) {
  HardwareConfig hw = small(48, 64);
  hw.adc_bits = 6;
  Problem p = make_problem(hw, 150, 12, 12, false, 8);
  std::vector<double> fast(static_cast<std::size_t>(p.n * p.m.M)), ref(fast.size());
  CrossbarWorkspace ws;
  crossbar_matmul_raw(p.m, p.chip, p.xq, p.X.data(), p.n, fast.data(), ws);
  crossbar_matmul_reference(p.m, p.chip, p.xq, p.X.data(), p.n, ref.data());
  const std::vector<double> bound = rounding_bound(p);
  int differ = 0;
  for (std::size_t i = 0; i < fast.size(); ++i) differ += std::fabs(fast[i] - ref[i]) > bound[i] + 1e-9;
  // A signal within its float rounding of a half-step flips one code; with ~1e-5 level
  // rounding against steps of ~6 levels that happens to well under 1 % of the conversions.
  EXPECT_LE(differ, static_cast<int>(fast.size() / 100)) << differ << " of " << fast.size();
}

TEST(PhysicsFast, IndependentOfBatchingAndThreads) {
  HardwareConfig hw = small(64, 64);
  hw.read_noise = 0.02;
  hw.adc_bits = 8;
  Problem p = make_problem(hw, 200, 30, 100, false, 9);
  const std::size_t out = static_cast<std::size_t>(p.n * p.m.M);
  std::vector<double> whole(out), parts(out), threaded(out);
  CrossbarWorkspace ws, ws2;
  crossbar_matmul_raw(p.m, p.chip, p.xq, p.X.data(), p.n, whole.data(), ws, 3, 1, 2, 0);
  // Split at 37 and 70 (not batch multiples), each part with its global vector index.
  for (const auto& [a, b] : {std::pair<std::int64_t, std::int64_t>{0, 37}, {37, 70}, {70, 100}}) {
    crossbar_matmul_raw(p.m, p.chip, p.xq, &p.X[a * p.m.K], b - a, &parts[a * p.m.M], ws, 3, 1, 2, a);
  }
  EXPECT_EQ(whole, parts);
  std::thread t([&] { crossbar_matmul_raw(p.m, p.chip, p.xq, p.X.data(), 50, threaded.data(), ws2, 3, 1, 2, 0); });
  crossbar_matmul_raw(p.m, p.chip, p.xq, &p.X[50 * p.m.K], 50, &threaded[50 * p.m.M], ws, 3, 1, 2, 50);
  t.join();
  EXPECT_EQ(whole, threaded);
  // A chip instance is a function of (seed, trial, layer) alone.
  ChipMatrix again;
  instantiate(p.m, 9, 1, 2, again);
  ASSERT_EQ(again.tiles.size(), p.chip.tiles.size());
  for (std::size_t i = 0; i < again.tiles.size(); ++i) EXPECT_EQ(again.tiles[i].geff, p.chip.tiles[i].geff);
}

TEST(PhysicsFast, RefusesInconsistentCalls) {
  HardwareConfig hw = small(16, 16);
  hw.adc_range = AdcRange::calibrated;
  Problem p = make_problem(hw, 20, 3, 4, false, 10);
  std::vector<double> y(static_cast<std::size_t>(p.n * p.m.M));
  CrossbarWorkspace ws;
  EXPECT_THROW(crossbar_matmul_raw(p.m, p.chip, p.xq, p.X.data(), p.n, y.data(), ws), InvalidConfig);
  calibrate_adc(p.m, p.X.data(), p.n, p.xq);
  EXPECT_NO_THROW(crossbar_matmul_raw(p.m, p.chip, p.xq, p.X.data(), p.n, y.data(), ws));
  EXPECT_THROW(crossbar_matmul_raw(p.m, p.chip, quant::Quantizer{1.0f, 0, 1000}, p.X.data(), p.n, y.data(), ws),
               InvalidConfig);
  ChipMatrix empty;
  EXPECT_THROW(crossbar_matmul_raw(p.m, empty, p.xq, p.X.data(), p.n, y.data(), ws), Error);
  EXPECT_THROW(instantiate(p.m, 1, 0, 4096, empty), InvalidConfig);
}

// The warp kernel's integer ADC code (no float-to-integer conversions) equals the float
// code every backend computes, for every ADC width it takes, on random signals, exact ties
// (k + 0.5 codes), the clamping edges, zeros, infinities and huge values.
TEST(PhysicsFast, AdcCodeIntEqualsAdcCode) {
  std::mt19937 gen(11);
  std::int64_t checked = 0;
  for (int bits = 1; bits <= 16; ++bits) {
    const float top = static_cast<float>((1u << bits) - 1u);
    for (const float full_scale : {1.0f, 3.0f, 255.0f, 765.0f, 1000.5f, 3.0f * 1024.0f, 7.0f * 65535.0f}) {
      const float step = physics::adc_step(full_scale, bits);
      const float inv = physics::adc_inverse_step(step);
      std::uniform_real_distribution<float> u(-2.0f * full_scale, 3.0f * full_scale);
      std::vector<float> s = {0.0f,
                              -0.0f,
                              full_scale,
                              -full_scale,
                              1e30f,
                              -1e30f,
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::denorm_min(),
                              -std::numeric_limits<float>::denorm_min()};
      for (int k = -2; k <= 70000 && k <= static_cast<int>(top) + 2; k += 1 + k / 64) {
        for (const float f : {-0.5f, -0.25f, 0.0f, 0.25f, 0.5f}) s.push_back((static_cast<float>(k) + f) * step);
      }
      for (int i = 0; i < 2000; ++i) s.push_back(u(gen));
      for (const float v : s) {
        ASSERT_EQ(physics::adc_code_int(v, inv, bits), static_cast<int>(physics::adc_code(v, inv, bits)))
            << "s = " << v << ", inv_step = " << inv << ", adc_bits = " << bits;
        const float x = v * inv;  // an exact tie of the product rounds to even in both
        if (std::fabs(x) < 4e6f && x - std::floor(x) == 0.5f) ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1000) << "exact ties .5 must be among the checked signals";
}
