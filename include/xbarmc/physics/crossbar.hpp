#pragma once
/// \file
/// The crossbar matrix product of a chip instance: activations quantized, applied
/// through the DACs read by read, each read's column signals digitized by the column
/// ADCs and shift-added digitally over steps, phases, slices and signs, row tiles
/// accumulated, then scaled back to real values (docs/physics.md, "Digital
/// reconstruction"). crossbar_matmul is the fast path (subset-sum reads);
/// crossbar_matmul_reference computes the same model in double from column currents
/// in amperes, slowly and obviously; tests hold one against the other.

#include <cstdint>
#include <vector>

#include "xbarmc/physics/chip.hpp"
#include "xbarmc/physics/dac.hpp"
#include "xbarmc/physics/read_noise.hpp"
#include "xbarmc/physics/subset_table.hpp"
#include "xbarmc/quant.hpp"

namespace xbarmc {

/// Whether a phase's step-weighted sum of ADC outputs is accumulated in float (else in
/// double): when its bound, (largest ADC output) x sum_step 2^(step * dac_bits), is below
/// 2^24, where float is exact for integer outputs. Every backend follows this choice, so
/// their sums round alike.
bool float_phase_accumulator(const HardwareConfig& hw, const physics::InputPlan& plan);

/// Scratch memory of crossbar_matmul, reused between calls (one per thread).
struct CrossbarWorkspace {
  std::vector<std::int32_t> q;              ///< quantized inputs of a batch
  std::vector<std::uint16_t> magnitude[2];  ///< per phase: row magnitudes of a batch on the current row tile
  physics::ReadPlan plan[2];                ///< per phase: subset offsets of a batch
  physics::AlignedVector<float> signal;     ///< per-plane column signals
  std::vector<float> step_signal;           ///< one read's column signals
  std::vector<float> adc_step;              ///< per-column ADC step of the current tile (level units)
  std::vector<float> adc_inverse_step;      ///< its float reciprocal
  std::vector<float> noise_var;             ///< one read's column read-noise variances (level units)
  std::vector<float> phase_acc_f;           ///< one phase's step-weighted ADC outputs (exact case)
  std::vector<double> phase_acc_d;          ///< the same when float could round
  std::vector<double> column_acc;           ///< per-vector physical column accumulators
  std::vector<double> acc;                  ///< per-vector logical outputs before scaling
};

/// Vectors processed together (the table of a column block stays in cache over them).
constexpr int crossbar_batch = 32;

/// Y (n x M, row-major) = the crossbar's product of the activations X (n x K,
/// row-major) quantized by xq. seed/trial/layer_id/vector_index_base address the read
/// noise draws (vector_index_base = the global index of X's first row); they do not
/// matter when read_noise = 0. Throws InvalidConfig when xq does not fit input_bits, or
/// when adc_range = calibrated and calibrate_adc() has not run.
void crossbar_matmul(const MappedMatrix& m, const ChipMatrix& chip, const quant::Quantizer& xq, const float* X,
                     std::int64_t n, float* Y, CrossbarWorkspace& ws, std::uint64_t seed = 0, std::uint32_t trial = 0,
                     std::uint32_t layer_id = 0, std::int64_t vector_index_base = 0);

/// The reconstructed integer-domain outputs before scaling (n x M): for ideal hardware
/// exactly sum_k q_x[i][k] q_W[k][m]; Y = acc * weight_scale[m] * xq.scale.
void crossbar_matmul_raw(const MappedMatrix& m, const ChipMatrix& chip, const quant::Quantizer& xq, const float* X,
                         std::int64_t n, double* acc, CrossbarWorkspace& ws, std::uint64_t seed = 0,
                         std::uint32_t trial = 0, std::uint32_t layer_id = 0, std::int64_t vector_index_base = 0);

/// The same model computed plainly in double from column currents (A) and tile.geff;
/// the oracle of the fast path. Returns the integer-domain outputs as crossbar_matmul_raw.
void crossbar_matmul_reference(const MappedMatrix& m, const ChipMatrix& chip, const quant::Quantizer& xq,
                               const float* X, std::int64_t n, double* acc, std::uint64_t seed = 0,
                               std::uint32_t trial = 0, std::uint32_t layer_id = 0, std::int64_t vector_index_base = 0);

}  // namespace xbarmc
