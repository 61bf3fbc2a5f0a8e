// The warp crossbar kernel's bookkeeping (kernels/cuda/warp_layout.hpp) on the CPU: a
// warp pass is emulated lane by lane, with the mma.m16n8k16 fragment layouts transcribed
// here independently from the PTX ISA (element-indexed formulas), and its column values
// must equal a direct computation of the same reads, ADC and shift-add.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "../../kernels/cuda/warp_layout.hpp"
#include "xbarmc/physics/dac.hpp"
#include "xbarmc/rng/counter.hpp"
#include "xbarmc/rng/distributions.hpp"

using namespace xbarmc;
namespace warp = xbarmc::cuda::warp;

namespace {

// PTX ISA 9.7.14.5.8, by element index (the transcription under test is per register).
int ptx_a_row(int lane, int i) { return (i < 2 || (i >= 4 && i < 6)) ? (lane >> 2) : (lane >> 2) + 8; }
int ptx_a_col(int lane, int i) { return (lane % 4) * 2 + (i & 1) + (i >= 4 ? 8 : 0); }
int ptx_b_row(int lane, int i) { return (lane % 4) * 2 + (i & 1) + (i >= 2 ? 8 : 0); }
int ptx_b_col(int lane, int /*i*/) { return lane >> 2; }
int ptx_c_row(int lane, int i) { return i < 2 ? (lane >> 2) : (lane >> 2) + 8; }
int ptx_c_col(int lane, int i) { return (lane % 4) * 2 + (i & 1); }

std::uint32_t word(std::uint32_t stream, std::uint32_t i) {
  return rng::draw_block(5, rng::Purpose::test, stream, 0, 0, i).v[0];
}

struct Case {
  int input_bits, dac_bits;
  bool is_signed;
  int adc_bits;
};

}  // namespace

TEST(WarpLayout, RegisterFormulasMatchThePtxElementFormulas) {
  for (int lane = 0; lane < 32; ++lane) {
    for (int r = 0; r < 4; ++r) {
      const warp::RowCol e = warp::a_register(lane, r);
      EXPECT_EQ(e.row, ptx_a_row(lane, 2 * r));
      EXPECT_EQ(e.col, ptx_a_col(lane, 2 * r));
      EXPECT_EQ(e.row, ptx_a_row(lane, 2 * r + 1));
      EXPECT_EQ(e.col + 1, ptx_a_col(lane, 2 * r + 1));
    }
    for (int r = 0; r < 2; ++r) {
      const warp::RowCol e = warp::b_register(lane, r);
      EXPECT_EQ(e.row, ptx_b_row(lane, 2 * r));
      EXPECT_EQ(e.row + 1, ptx_b_row(lane, 2 * r + 1));
      EXPECT_EQ(e.col, ptx_b_col(lane, 2 * r));
    }
    for (int i = 0; i < 4; ++i) {
      const warp::RowCol e = warp::c_element(lane, i);
      EXPECT_EQ(e.row, ptx_c_row(lane, i));
      EXPECT_EQ(e.col, ptx_c_col(lane, i));
      const warp::LaneElement back = warp::c_location(e.row, e.col);
      EXPECT_EQ(back.lane, lane);
      EXPECT_EQ(back.i, i);
    }
  }
}

// ldmatrix (PTX ISA, "Warp-level matrix load instruction: ldmatrix"): register i of lane l
// receives word l % 4 of row l / 4 of matrix i, whose row j's address lane 8 i + j gives.
// With the addresses of a_ldmatrix_row, those are the elements a_register names.
TEST(WarpLayout, LdmatrixRowsGiveTheARegisters) {
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const warp::RowCol row = warp::a_ldmatrix_row(8 * i + lane / 4);  // the lane that gives the row
      const warp::RowCol e = warp::a_register(lane, i);
      EXPECT_EQ(row.row, e.row) << "lane " << lane << ", register " << i;
      EXPECT_EQ(row.col + 2 * (lane % 4), e.col) << "lane " << lane << ", register " << i;
    }
}

TEST(WarpLayout, ReadPlansCoverEveryReadOnce) {
  for (int reads = 1; reads <= warp::kMaxReads; ++reads) {
    const warp::ReadPlan p = warp::read_plan(reads);
    ASSERT_GE(p.vectors, 1);
    ASSERT_LE(p.vectors * p.reads_p, warp::kSlots);
    std::vector<int> seen(static_cast<std::size_t>(p.vectors * reads), 0);
    for (int n = 0; n < warp::kSlots; ++n) {
      const warp::Slot s = warp::slot_of(p, n);
      if (!s.active) continue;
      ++seen[static_cast<std::size_t>(s.vector * reads + s.read)];
      EXPECT_EQ(warp::slot_index(p, s.vector, s.read), n);
    }
    for (int c : seen) EXPECT_EQ(c, 1) << reads << " reads";
  }
  EXPECT_FALSE(warp::supports_reads(17));
  EXPECT_FALSE(warp::supports_reads(0));
  // Phases x steps: one group while they fit a pass, else one group (pass) per phase.
  const warp::ReadPlan one = warp::read_plan(2, 8);
  EXPECT_EQ(one.groups, 1);
  EXPECT_EQ(one.reads, 16);
  const warp::ReadPlan two = warp::read_plan(2, 11);  // signed 12-bit inputs, bit-serial
  EXPECT_EQ(two.groups, 2);
  EXPECT_EQ(two.reads, 11);
  EXPECT_EQ(two.reads_p, 16);
  EXPECT_EQ(two.vectors, 1);
  EXPECT_TRUE(warp::supports_reads(2, 15));  // signed 16-bit inputs
  EXPECT_FALSE(warp::supports_reads(1, 17));
}

// The integer shift-add in registers: slot weights are physics::step_weight of the slot's
// read (0 for slots without one), in every read group; exact_shift_add holds only where
// the largest weighted sum over both phases stays below 2^24, and is not needlessly
// strict (8-bit ADC with 8- and 12-bit inputs, any DAC width, takes it).
TEST(WarpLayout, SlotWeightsAreTheShiftAddWeightsAndExactSumsStayBelow2To24) {
  for (int phases = 1; phases <= 2; ++phases)
    for (int steps = 1; steps <= 16; ++steps)
      for (int dac_bits = 1; dac_bits <= 8 && steps * dac_bits <= 16; ++dac_bits) {
        if (!warp::supports_reads(phases, steps)) continue;
        const warp::ReadPlan p = warp::read_plan(phases, steps);
        for (int g = 0; g < p.groups; ++g)
          for (int n = 0; n < warp::kSlots; ++n) {
            const warp::Slot s = warp::slot_of(p, n);
            const int read = g * p.reads + s.read;
            const double want = s.active ? physics::step_weight(read / steps, read % steps, dac_bits) : 0.0;
            EXPECT_EQ(warp::slot_weight(p, n, g, steps, dac_bits), want)
                << phases << " x " << steps << " reads, DAC " << dac_bits << ", group " << g << ", slot " << n;
          }
        for (int adc_bits = 0; adc_bits <= 16; ++adc_bits) {
          double largest = 0.0;  // |sum| of top codes over every read of both phases
          for (int st = 0; st < steps; ++st)
            largest += phases * (std::ldexp(1.0, adc_bits) - 1.0) * std::ldexp(1.0, st * dac_bits);
          if (warp::exact_shift_add(adc_bits, steps, dac_bits)) {
            EXPECT_LT(largest, 16777216.0) << adc_bits << "-bit ADC, " << steps << " steps of " << dac_bits << " bits";
          }
        }
      }
  EXPECT_FALSE(warp::exact_shift_add(0, 8, 1)) << "an ideal ADC's outputs are not integers";
  EXPECT_TRUE(warp::exact_shift_add(8, 7, 1));   // signed 8-bit inputs, bit-serial
  EXPECT_TRUE(warp::exact_shift_add(8, 11, 1));  // signed 12-bit inputs
  EXPECT_TRUE(warp::exact_shift_add(8, 2, 4));   // unsigned 8-bit inputs, 4-bit DAC
  EXPECT_FALSE(warp::exact_shift_add(14, 11, 1));
}

// One warp pass over a 16-column fragment and K rows, every register built as the
// kernel builds it, the product done by the PTX layouts, the epilogue as the kernel's.
TEST(WarpLayout, EmulatedPassEqualsTheDirectColumnValues) {
  const std::vector<Case> cases = {{8, 1, false, 8}, {8, 1, true, 8}, {8, 2, false, 6}, {5, 1, true, 8},
                                   {6, 2, false, 0}, {8, 4, true, 5}, {8, 8, false, 8}, {3, 1, false, 4}};
  std::uint32_t stream = 0;
  for (const Case& cs : cases) {
    const physics::InputPlan plan = physics::input_plan(cs.input_bits, cs.dac_bits, cs.is_signed);
    const int reads = plan.phases * plan.steps;
    ASSERT_TRUE(warp::supports_reads(reads));
    const warp::ReadPlan rp = warp::read_plan(reads);
    const int ksteps = 3, K = 16 * ksteps;
    // Integer levels (0..3) keep every sum exact, so any summation order agrees.
    std::vector<float> L(16 * K);
    for (int i = 0; i < 16 * K; ++i) L[i] = static_cast<float>(word(++stream, i) % 4);
    const int qmax = cs.is_signed ? (1 << (cs.input_bits - 1)) - 1 : (1 << cs.input_bits) - 1;
    std::vector<int> q(static_cast<std::size_t>(rp.vectors) * K);
    for (std::size_t i = 0; i < q.size(); ++i) {
      const int span = cs.is_signed ? 2 * qmax + 1 : qmax + 1;
      q[i] = static_cast<int>(word(++stream, static_cast<std::uint32_t>(i)) % span) - (cs.is_signed ? qmax : 0);
    }
    std::array<float, 16> inv{}, step{};
    for (int c = 0; c < 16; ++c) {
      step[c] = cs.adc_bits > 0 ? 1.0f + 0.37f * static_cast<float>(c) : 1.0f;
      inv[c] = physics::adc_inverse_step(step[c]);
    }
    auto q_at = [&](int v, int k) { return v < rp.vectors ? q[static_cast<std::size_t>(v) * K + k] : 0; };

    // Registers as the kernel builds them: A (levels) per k step, B (DAC codes) per
    // fragment and k step; values kept as floats (the kernel's are f16 hi + lo parts).
    float a_reg[warp::kMaxKSteps][32][4][2], b_reg[warp::kFrags][warp::kMaxKSteps][32][2][2];
    for (int ks = 0; ks < ksteps; ++ks)
      for (int lane = 0; lane < 32; ++lane) {
        for (int r = 0; r < 4; ++r) {
          const warp::RowCol e = warp::a_register(lane, r);
          a_reg[ks][lane][r][0] = L[e.row * K + ks * 16 + e.col];
          a_reg[ks][lane][r][1] = L[e.row * K + ks * 16 + e.col + 1];
        }
        for (int f = 0; f < warp::kFrags; ++f)
          for (int r = 0; r < 2; ++r) {
            const warp::RowCol e = warp::b_register(lane, r);
            // The two rows' magnitudes packed, their codes taken, as the kernel does.
            const warp::SlotDac s = warp::slot_dac(rp, f * 8 + e.col, 0, plan.steps);
            const int k = ks * 16 + e.row;  // even
            const std::uint32_t c =
                s.active ? warp::code_pair(warp::pack_magnitudes(q_at(s.vector, k), q_at(s.vector, k + 1), s.ps.phase),
                                           s.ps.step, plan.dac_bits)
                         : 0u;
            b_reg[f][ks][lane][r][0] = static_cast<float>(c & 0xFFFFu);
            b_reg[f][ks][lane][r][1] = static_cast<float>(c >> 16);
          }
      }
    // The tensor-core product by the PTX layouts, then the kernel's ADC and staging.
    std::vector<float> staged(warp::kFrags * 4 * 32);
    for (int f = 0; f < warp::kFrags; ++f) {
      double D[16][8] = {};
      for (int ks = 0; ks < ksteps; ++ks) {
        float A[16][16], B[16][8];
        for (int lane = 0; lane < 32; ++lane) {
          for (int i = 0; i < 8; ++i) A[ptx_a_row(lane, i)][ptx_a_col(lane, i)] = a_reg[ks][lane][i / 2][i % 2];
          for (int i = 0; i < 4; ++i) B[ptx_b_row(lane, i)][ptx_b_col(lane, i)] = b_reg[f][ks][lane][i / 2][i % 2];
        }
        for (int m = 0; m < 16; ++m)
          for (int n = 0; n < 8; ++n)
            for (int k = 0; k < 16; ++k) D[m][n] += static_cast<double>(A[m][k]) * B[k][n];
      }
      for (int lane = 0; lane < 32; ++lane)
        for (int i = 0; i < 4; ++i) {
          const float acc = static_cast<float>(D[ptx_c_row(lane, i)][ptx_c_col(lane, i)]);
          const int row = warp::c_element(lane, i).row;
          staged[warp::staged_index(f, i, lane)] = physics::adc_output(acc, inv[row], cs.adc_bits);
        }
    }
    for (const bool float_acc : {true, false}) {
      for (int v = 0; v < rp.vectors; ++v)
        for (int c = 0; c < 16; ++c) {
          const double got =
              physics::shift_add_column([&](int read) { return staged[warp::staged_output(rp, v, read, c)]; },
                                        plan.phases, plan.steps, plan.dac_bits, float_acc, step[c]);
          // Directly: each read's column signal, its ADC output, the CPU's accumulation.
          double want = 0.0;
          for (int ph = 0; ph < plan.phases; ++ph) {
            float pf = 0.0f;
            double pd = 0.0;
            for (int st = 0; st < plan.steps; ++st) {
              double s = 0.0;
              for (int k = 0; k < K; ++k)
                s += L[c * K + k] * static_cast<double>(
                                        physics::dac_code(physics::phase_magnitude(q_at(v, k), ph), st, plan.dac_bits));
              const float o = physics::adc_output(static_cast<float>(s), inv[c], cs.adc_bits);
              const double w = std::ldexp(ph == 0 ? 1.0 : -1.0, st * plan.dac_bits);
              pf += static_cast<float>(w) * o;
              pd += w * o;
            }
            want += (float_acc ? static_cast<double>(pf) : pd) * step[c];
          }
          EXPECT_EQ(got, want) << "input_bits " << cs.input_bits << " dac_bits " << cs.dac_bits << " signed "
                               << cs.is_signed << " vector " << v << " column " << c;
        }
    }
  }
}

// The kernel's divisions without a division instruction: FastDiv against `/` on every
// divisor up to 4,096 and powers of two and their neighbours up to 2^30, numerators at
// the edges (0, multiples of the divisor and their neighbours, 2^31 - 1) and random ones.
TEST(WarpLayout, FastDivisionEqualsIntegerDivisionBelow2To31) {
  std::vector<std::uint32_t> divisors;
  for (std::uint32_t d = 1; d <= 4096; ++d) divisors.push_back(d);
  for (int e = 12; e <= 30; ++e)
    for (std::int64_t o = -3; o <= 3; ++o) divisors.push_back(static_cast<std::uint32_t>((std::int64_t{1} << e) + o));
  divisors.push_back(784);  // LeNet-5 conv1's positions
  divisors.push_back((1u << 31) - 1);
  std::int64_t checked = 0, wrong = 0;
  for (std::size_t di = 0; di < divisors.size(); ++di) {
    const std::uint32_t d = divisors[di];
    const warp::FastDiv f = warp::fast_div(d);
    std::vector<std::int64_t> ns = {0, 1, 2, (std::int64_t{1} << 31) - 1, (std::int64_t{1} << 31) - 2};
    for (std::int64_t k : {1, 2, 3, 1000, 65535})
      for (std::int64_t o = -1; o <= 1; ++o) ns.push_back(k * d + o);
    for (std::uint32_t i = 0; i < 64; ++i) ns.push_back(word(static_cast<std::uint32_t>(di), i) >> 1);
    for (const std::int64_t n : ns) {
      if (n < 0 || n >= (std::int64_t{1} << 31)) continue;
      ++checked;
      if (warp::div(static_cast<int>(n), f) != n / d && ++wrong <= 5)
        ADD_FAILURE() << n << " / " << d << ": " << warp::div(static_cast<int>(n), f) << ", expected " << n / d;
    }
  }
  EXPECT_EQ(wrong, 0) << "of " << checked;
  EXPECT_GT(checked, 300000);
}

// A read's phase and step without a division, and the slot decoded once per pass, equal
// read / steps, read % steps and (with two rows' magnitudes packed, as the kernel stages
// them) the DAC codes of physics::dac_code for every plan.
TEST(WarpLayout, DecodedSlotsGiveTheDacCodesOfTheirReads) {
  for (int steps = 1; steps <= 16; ++steps)
    for (int read = 0; read < 2 * steps; ++read) {
      const warp::PhaseStep ps = warp::phase_step(read, steps);
      EXPECT_EQ(ps.phase, read / steps);
      EXPECT_EQ(ps.step, read % steps);
    }
  for (int dac_bits : {1, 2, 4, 8})
    for (int phases : {1, 2})
      for (int steps = 1; steps <= 16 / dac_bits; ++steps) {
        if (!warp::supports_reads(phases, steps)) continue;
        const warp::ReadPlan rp = warp::read_plan(phases, steps);
        EXPECT_EQ(1 << rp.shift, rp.reads_p);
        for (int g = 0; g < rp.groups; ++g)
          for (int n = 0; n < warp::kSlots; ++n) {
            const warp::SlotDac d = warp::slot_dac(rp, n, g * rp.reads, steps);
            const int vector = n / rp.reads_p, read = n % rp.reads_p;
            ASSERT_EQ(d.active, vector < rp.vectors && read < rp.reads);
            EXPECT_EQ(d.vector, vector);
            for (int q : {-40000, -255, -3, -1, 0, 1, 2, 5, 200, 255, 40000}) {
              const int r = g * rp.reads + read;
              const std::uint32_t want =
                  d.active ? physics::dac_code(physics::phase_magnitude(q, r / steps), r % steps, dac_bits) : 0u;
              const std::uint32_t want_next =  // a second row holding -q
                  d.active ? physics::dac_code(physics::phase_magnitude(-q, r / steps), r % steps, dac_bits) : 0u;
              // The decoded slot's codes of two rows, as the kernel takes them.
              const std::uint32_t c =
                  d.active ? warp::code_pair(warp::pack_magnitudes(q, -q, d.ps.phase), d.ps.step, dac_bits) : 0u;
              EXPECT_EQ(c & 0xFFFFu, want) << "steps " << steps << " slot " << n << " q " << q;
              EXPECT_EQ(c >> 16, want_next) << "steps " << steps << " slot " << n << " q " << -q;
            }
          }
      }
}

// The warp kernel's int-to-double without a conversion instruction equals the conversion.
TEST(WarpLayout, IntToDoubleEqualsTheConversion) {
  std::vector<std::int32_t> v = {0,
                                 1,
                                 -1,
                                 2,
                                 -2,
                                 255,
                                 -255,
                                 (1 << 24) - 1,
                                 -(1 << 24),
                                 1 << 30,
                                 std::numeric_limits<std::int32_t>::max(),
                                 std::numeric_limits<std::int32_t>::min(),
                                 std::numeric_limits<std::int32_t>::min() + 1};
  std::uint32_t x = 12345u;
  for (int i = 0; i < 100000; ++i) {
    x = x * 1664525u + 1013904223u;
    v.push_back(static_cast<std::int32_t>(x));
  }
  for (const std::int32_t i : v) ASSERT_EQ(warp::int_to_double(i), static_cast<double>(i)) << i;
}

// The warp kernel stages two rows' phase magnitudes per word and takes a slot's two DAC
// codes from it: the codes of physics::dac_code for every DAC width, step and phase, on
// magnitudes up to 16 bits.
TEST(WarpLayout, PackedMagnitudesGiveBothRowsDacCodes) {
  std::int64_t checked = 0;
  for (int dac_bits = 1; dac_bits <= 11; ++dac_bits)
    for (int bits : {1, 7, 8, 12, 15, 16}) {  // magnitude bits
      const int steps = (bits + dac_bits - 1) / dac_bits;
      const int top = (1 << bits) - 1;
      for (std::uint32_t i = 0; i < 400; ++i) {
        const int q0 = static_cast<int>(word(7, 2 * i) % (2u * top + 1)) - top;
        const int q1 = i % 5 == 0 ? (i % 2 ? top : -top) : static_cast<int>(word(7, 2 * i + 1) % (2u * top + 1)) - top;
        for (int phase = 0; phase < 2; ++phase)
          for (int step = 0; step < steps; ++step) {
            const std::uint32_t c = warp::code_pair(warp::pack_magnitudes(q0, q1, phase), step, dac_bits);
            ASSERT_EQ(c & 0xFFFFu, physics::dac_code(physics::phase_magnitude(q0, phase), step, dac_bits))
                << "dac_bits " << dac_bits << " step " << step << " q0 " << q0;
            ASSERT_EQ(c >> 16, physics::dac_code(physics::phase_magnitude(q1, phase), step, dac_bits))
                << "dac_bits " << dac_bits << " step " << step << " q1 " << q1;
            ++checked;
          }
      }
    }
  EXPECT_GT(checked, 100000);
}

// The batched body's weighted ADC code equals physics::adc_code_int times the slot's
// weight (+-2^k) wherever the product fits int32 (as under exact_shift_add): for every ADC
// width, signals below, at, between and past the codes, -0, infinities and NaN.
TEST(WarpLayout, WeightedAdcCodeEqualsTheCodeTimesTheWeight) {
  std::int64_t checked = 0;
  for (int adc_bits = 1; adc_bits <= 16; ++adc_bits) {
    const float top = static_cast<float>((1u << adc_bits) - 1u);
    for (const float inv : {1.0f, 0.37f, 3.0e-5f, 4096.0f}) {
      std::vector<float> s = {0.0f,
                              -0.0f,
                              -1.0f,
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::quiet_NaN(),
                              std::numeric_limits<float>::max(),
                              std::numeric_limits<float>::denorm_min()};
      for (float k = 0.0f; k <= top + 2.0f; k += (top > 64.0f ? top / 64.0f : 1.0f))
        for (const float d : {-0.5f, 0.0f, 0.5f, 0.25f}) s.push_back((k + d) / inv);
      for (std::uint32_t i = 0; i < 200; ++i) s.push_back((2.0f * rng::u01f(word(9, i)) - 0.5f) * top / inv);
      for (int k = 0; adc_bits + k + 1 <= 31; ++k)
        for (const int sign : {1, -1}) {
          const int w = sign * (1 << k);
          const warp::SlotWeight sw = warp::slot_weight_bits(w);
          for (const float x : s) {
            const std::int64_t want = static_cast<std::int64_t>(physics::adc_code_int(x, inv, adc_bits)) * w;
            ASSERT_EQ(warp::weighted_adc_code(x, inv, top, sw), want)
                << "signal " << x << " x " << inv << ", " << adc_bits << "-bit ADC, weight " << w;
            ++checked;
          }
        }
    }
  }
  // A slot without a read (weight 0) gives 0.
  EXPECT_EQ(warp::weighted_adc_code(100.0f, 1.0f, 255.0f, warp::slot_weight_bits(0)), 0);
  EXPECT_GT(checked, 1000000);
}
