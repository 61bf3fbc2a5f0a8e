#pragma once
/// \file
/// The bookkeeping of the warp crossbar kernel (crossbar_warp.cu) as plain host/device
/// functions of a lane and a register, so that CPU tests (tests/unit/test_warp_layout.cpp)
/// check it against the PTX ISA's fragment layouts of `mma.m16n8k16` (f16 operands, f32
/// accumulators) without a GPU.
///
/// One warp pass computes, for one 16-column fragment of a tile,
///   D (16 physical columns x 16 read slots) = L (16 columns x K rows: effective levels,
///   the A operand) x B (K rows x 16 read slots: DAC codes, two n8 fragments),
/// K = 16 rows per mma step. Read slot n of a pass belongs to vector n / reads_p of the
/// pass and to its read n % reads_p, reads_p being the vector's reads (phases x steps)
/// rounded up to a power of two; slots past the reads carry DAC code 0. A vector's
/// reads thus sit in one accumulator fragment column range, and its column signals are
/// digitized and shift-added in the CPU backend's order (physics::shift_add_column).

#include <cmath>
#include <cstdint>
#include <cstring>

#include "xbarmc/hd.hpp"
#include "xbarmc/physics/adc.hpp"
#include "xbarmc/physics/dac.hpp"

namespace xbarmc::cuda::warp {

constexpr int kSlots = 16;             ///< read slots per pass (two n8 fragments)
constexpr int kFrags = 2;              ///< n8 accumulator fragments per pass
constexpr int kMaxReads = kSlots;      ///< the kernel's limit on reads per vector
constexpr int kMaxVectorsPerPass = 4;  ///< bounds the per-warp buffers when reads are few
constexpr int kShortKSteps = 2;        ///< the short variant: tiles read over <= 32 rows (first convolutions)
constexpr int kMaxKSteps = 8;          ///< 16-row mma steps of the narrow variant: tiles read over <= 128 rows
constexpr int kMaxKStepsTall = 16;     ///< the tall variant: tiles read over <= 256 rows

/// How a vector's reads fill a pass. Up to 16 reads (phases x steps) share one pass;
/// more (signed inputs of 10-16 bits, bit-serial: two phases of 9-15 steps) run as one
/// pass per phase, a read group, each shift-added onto the column in the CPU's phase
/// order (physics::shift_add_phase).
struct ReadPlan {
  int reads = 1;    ///< reads per group: phases x steps, or steps when groups = phases
  int reads_p = 1;  ///< reads rounded up to a power of two (slots per vector)
  int shift = 0;    ///< log2(reads_p): a slot's vector is n >> shift, its read n & (reads_p - 1)
  int vectors = 1;  ///< vectors per pass
  int groups = 1;   ///< read groups: 1, or the phases
};

XBARMC_HD int round_up_pow2(int x) {
  int p = 1;
  while (p < x) p *= 2;
  return p;
}

/// True when one pass holds `reads` reads per vector.
XBARMC_HD bool supports_reads(int reads) { return reads >= 1 && reads <= kMaxReads; }

/// True when the warp kernel handles `phases` phases of `steps` reads: in one pass, or
/// one pass per phase.
XBARMC_HD bool supports_reads(int phases, int steps) {
  return phases >= 1 && steps >= 1 && (supports_reads(phases * steps) || supports_reads(steps));
}

/// A plan of `reads` reads in one group.
XBARMC_HD ReadPlan read_plan(int reads) {
  ReadPlan r;
  r.reads = reads;
  r.reads_p = round_up_pow2(reads);
  while ((1 << r.shift) < r.reads_p) ++r.shift;
  const int v = kSlots / r.reads_p;
  r.vectors = v < kMaxVectorsPerPass ? v : kMaxVectorsPerPass;
  return r;
}

/// The plan of `phases` phases of `steps` reads: one group when they fit a pass, else one
/// group per phase.
XBARMC_HD ReadPlan read_plan(int phases, int steps) {
  if (supports_reads(phases * steps)) return read_plan(phases * steps);
  ReadPlan r = read_plan(steps);
  r.groups = phases;
  return r;
}

/// Read slot `n` (0..15) of a pass: its vector within the pass and its read.
struct Slot {
  int vector = 0;
  int read = 0;
  bool active = false;  ///< a real read of a vector of the pass (otherwise DAC code 0)
};
XBARMC_HD Slot slot_of(const ReadPlan& p, int n) {
  Slot s;
  s.vector = n >> p.shift;
  s.read = n & (p.reads_p - 1);
  s.active = s.vector < p.vectors && s.read < p.reads;
  return s;
}

/// The read slot of `read` of the pass's vector `vector`.
XBARMC_HD int slot_index(const ReadPlan& p, int vector, int read) { return vector * p.reads_p + read; }

/// A read's phase and step: read / steps and read % steps without a division, since a
/// vector has at most two phases (physics::input_plan), so read < 2 steps.
struct PhaseStep {
  int phase = 0;
  int step = 0;
};
XBARMC_HD PhaseStep phase_step(int read, int steps) {
  PhaseStep r;
  r.phase = read >= steps ? 1 : 0;
  r.step = read - r.phase * steps;
  return r;
}

/// What a read slot applies to the rows of its vector, decoded once per pass: active or
/// not, its vector, and its read's phase and step (`read0`: the read group's first read).
struct SlotDac {
  bool active = false;
  int vector = 0;
  PhaseStep ps;
};
XBARMC_HD SlotDac slot_dac(const ReadPlan& p, int n, int read0, int steps) {
  const Slot s = slot_of(p, n);
  SlotDac d;
  d.active = s.active;
  d.vector = s.vector;
  d.ps = phase_step(read0 + s.read, steps);
  return d;
}

/// static_cast<double>(v) without a conversion instruction (a GPU converts to and from
/// 64-bit types at a fraction of its double rate): the double with the high word of 2^52
/// and the low word v + 2^31 is 2^52 + 2^31 + v, exact, less 2^52 + 2^31.
XBARMC_HD double int_to_double(std::int32_t v) {
  const std::uint64_t bits = (std::uint64_t{0x43300000} << 32) | (static_cast<std::uint32_t>(v) ^ 0x80000000u);
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d - 4503601774854144.0;  // 2^52 + 2^31
}

/// Two rows' phase magnitudes in one word, as the warp kernel stages its input codes: row
/// k's in bits 0-15, row k + 1's in bits 16-31 (magnitudes have at most 16 bits:
/// input_bits <= 16).
XBARMC_HD std::uint32_t pack_magnitudes(int q0, int q1, int phase) {
  return physics::phase_magnitude(q0, phase) | (physics::phase_magnitude(q1, phase) << 16);
}

/// The DAC codes of step `step` for the two rows of a packed word: row k's in the low 16
/// bits, row k + 1's in the high 16 (physics::dac_code of each magnitude). Bit-serial
/// (dac_bits 1): one shift and one mask.
XBARMC_HD std::uint32_t code_pair(std::uint32_t mags, int step, int dac_bits) {
  const int shift = step * dac_bits;
  if (dac_bits == 1) return (mags >> shift) & 0x00010001u;
  const std::uint32_t mask = (1u << dac_bits) - 1u;
  return (((mags & 0xFFFFu) >> shift) & mask) | (((mags >> (16 + shift)) & mask) << 16);
}

/// True when a column's shift-add is exact in any order: integer ADC codes (adc_bits > 0)
/// whose weighted sums over a vector's reads, +-code 2^(step dac_bits) over both phases,
/// stay below 2^24 in magnitude. Then every partial sum is an integer exact in float and
/// in int32, and the column (sum x ADC step) is exact in double, so the warp kernel may add
/// a vector's reads across lanes by shuffles, in registers, and still equal the CPU's
/// shift_add_column bit for bit, float accumulation (float_phase_accumulator) included.
XBARMC_HD bool exact_shift_add(int adc_bits, int steps, int dac_bits) {
  return adc_bits > 0 && adc_bits + steps * dac_bits + 1 <= 24;
}

/// The shift-add weight of read slot `n` of a pass in read group `group`, as an integer:
/// +-2^(step dac_bits) (physics::step_weight), 0 for a slot that holds no read.
XBARMC_HD int slot_weight(const ReadPlan& p, int n, int group, int steps, int dac_bits) {
  const Slot s = slot_of(p, n);
  if (!s.active) return 0;
  const PhaseStep ps = phase_step(group * p.reads + s.read, steps);
  return static_cast<int>(physics::step_weight(ps.phase, ps.step, dac_bits));
}

/// A read slot's weight for weighted_adc_code: the weight w (slot_weight) and the ADC
/// code's float bias times w, both modulo 2^32.
struct SlotWeight {
  std::uint32_t w = 0;
  std::uint32_t bias_w = 0;
};
XBARMC_HD SlotWeight slot_weight_bits(int weight) {
  SlotWeight s;
  s.w = static_cast<std::uint32_t>(weight);
  s.bias_w = 0x4B400000u * s.w;  // the bits of 1.5 x 2^23 (physics::adc_code_int) times w
  return s;
}

/// physics::adc_code_int(s, inv_step, adc_bits) x weight in fewer instructions: the clamps
/// as fmaxf / fminf (equal to adc_code_int's comparisons: fmaxf takes 0 for NaN, as
/// `x > 0 ? x : 0`, and after it x is not NaN) and the bias subtraction folded into the
/// multiply, in wrapping unsigned arithmetic (equal whenever the product fits int32, as it
/// does under exact_shift_add). top = 2^adc_bits - 1.
XBARMC_HD std::int32_t weighted_adc_code(float s, float inv_step, float top, SlotWeight w) {
  const float x = fminf(fmaxf(s * inv_step, 0.0f), top);
  const float shifted = x + 12582912.0f;  // 1.5 x 2^23: rounds x to an integer in the low bits
  std::uint32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  const std::uint32_t r = bits * w.w - w.bias_w;
  std::int32_t out;
  std::memcpy(&out, &r, sizeof(out));
  return out;
}

/// Division of non-negative 32-bit integers below 2^31 by a divisor fixed at launch,
/// as a multiply-high and a shift (round-up method, Granlund & Montgomery 1994; Hacker's
/// Delight 10-9): the kernels' index arithmetic without runtime integer divisions.
struct FastDiv {
  std::uint32_t d = 1, m = 1;
  int s = 0;
};
XBARMC_HD FastDiv fast_div(std::uint32_t d) {
  FastDiv f;
  f.d = d;
  while ((std::uint64_t{1} << f.s) < d) ++f.s;
  f.m = static_cast<std::uint32_t>(((std::uint64_t{1} << 32) * ((std::uint64_t{1} << f.s) - d)) / d + 1);
  return f;
}
/// n / f.d for 0 <= n < 2^31.
XBARMC_HD int div(int n, const FastDiv& f) {
  const auto u = static_cast<std::uint32_t>(n);
#if defined(__CUDA_ARCH__)
  const std::uint32_t hi = __umulhi(u, f.m);
#else
  const auto hi = static_cast<std::uint32_t>((static_cast<std::uint64_t>(u) * f.m) >> 32);
#endif
  return static_cast<int>((hi + u) >> f.s);  // hi <= u < 2^31: no overflow
}

/// A matrix element's place in a fragment.
struct RowCol {
  int row = 0;
  int col = 0;
};

// PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type", with
// groupID = lane >> 2 and threadID_in_group = lane % 4.

/// A operand (16 x 16, row major): register r (0..3) of `lane` holds two f16 elements,
/// (row, col) in its low half and (row, col + 1) in its high half.
XBARMC_HD RowCol a_register(int lane, int r) {
  RowCol e;
  e.row = (lane >> 2) + ((r & 1) ? 8 : 0);
  e.col = (lane & 3) * 2 + ((r & 2) ? 8 : 0);
  return e;
}

/// The A operand by ldmatrix (simt::ldmatrix_x4) from levels stored [row][k] (k
/// contiguous): the fragment element (row, first column) of the 8-element row whose
/// address `lane` gives. Lane 8 i + j gives row j of 8 x 8 matrix i, and matrix i is what
/// a_register puts in register i: rows 0-7 (i even) or 8-15 (odd), columns 0-7 (i < 2)
/// or 8-15; so register i of lane l receives the elements a_register(l, i) names.
XBARMC_HD RowCol a_ldmatrix_row(int lane) {
  RowCol e;
  e.row = (lane & 7) + ((lane >> 3) & 1) * 8;
  e.col = (lane >> 4) * 8;
  return e;
}

/// B operand (16 x 8, "col"): register r (0..1) of `lane` holds (row, col) low and
/// (row + 1, col) high.
XBARMC_HD RowCol b_register(int lane, int r) {
  RowCol e;
  e.row = (lane & 3) * 2 + (r ? 8 : 0);
  e.col = lane >> 2;
  return e;
}

/// Accumulator (16 x 8, f32): element i (0..3) of `lane`.
XBARMC_HD RowCol c_element(int lane, int i) {
  RowCol e;
  e.row = (lane >> 2) + (i >= 2 ? 8 : 0);
  e.col = (lane & 3) * 2 + (i & 1);
  return e;
}

/// Where accumulator element (row, col) of an n8 fragment lives: lane and element.
struct LaneElement {
  int lane = 0;
  int i = 0;
};
XBARMC_HD LaneElement c_location(int row, int col) {
  LaneElement l;
  l.lane = (row & 7) * 4 + col / 2;
  l.i = (row >> 3) * 2 + (col & 1);
  return l;
}

/// Index into a warp's staging of ADC outputs: fragment f (0..1), element i (0..3), lane.
XBARMC_HD int staged_index(int f, int i, int lane) { return (f * 4 + i) * 32 + lane; }

/// Where the ADC output of read `read` of the pass's vector `vector` at column `row`
/// (0..15 within the column fragment) is staged.
XBARMC_HD int staged_output(const ReadPlan& p, int vector, int read, int row) {
  const int n = slot_index(p, vector, read);
  const LaneElement l = c_location(row, n % 8);
  return staged_index(n / 8, l.i, l.lane);
}

}  // namespace xbarmc::cuda::warp
