#pragma once
/// \file
/// The crossbar hardware model as typed values: every key of hardware_schema() is a
/// field of HardwareConfig. docs/physics.md gives each equation, unit and default.

#include <cstdint>
#include <string>

#include "xbarmc/config/settings.hpp"

namespace xbarmc {

/// How a signed weight is stored: a positive and a negative cell column per slice,
/// or one column holding w + 2^(weight_bits-1) - 1 with a digital offset subtraction.
enum class SignMode { differential, offset };
/// Distribution of the programmed conductance around its target.
enum class Variation { lognormal, normal };
/// Wire-resistance model of a tile.
enum class IrDrop { none, static_resistance, iterative, exact };
/// How each column's ADC full scale is chosen.
enum class AdcRange { max, calibrated };
/// Scale of the symmetric weight quantization.
enum class WeightScale { channel, layer };

/// Every hardware key as a typed field (defaults as in hardware_schema()).
struct HardwareConfig {
  int weight_bits = 8;                              ///< weight bits including the sign
  WeightScale weight_scale = WeightScale::channel;  ///< quantization scale per output column or per layer
  SignMode sign_mode = SignMode::differential;      ///< sign encoding
  int bits_per_cell = 2;                            ///< bits stored per cell: 1, 2 or 4
  double g_min = 1e-6;                              ///< conductance of level 0 (S)
  double g_max = 100e-6;                            ///< conductance of the top level (S)
  int rows = 128;                                   ///< tile rows (wordlines, inputs)
  int cols = 128;                                   ///< tile columns (bitlines, ADCs)
  Variation variation = Variation::lognormal;       ///< programming variation model
  double sigma = 0.05;                 ///< programming variation (lognormal: of ln G; normal: of G / (g_max - g_min))
  double sigma_write_verify = 0.01;    ///< the same for write-verified cells
  double p_stuck_off = 0.001;          ///< probability that a cell is stuck at g_min
  double p_stuck_on = 0.001;           ///< probability that a cell is stuck at g_max
  double read_noise = 0.0;             ///< relative standard deviation of each cell current per read
  int input_bits = 8;                  ///< activation bits (unsigned codes, or signed incl. the sign)
  int dac_bits = 1;                    ///< input bits applied per read (1 = bit-serial)
  double v_read = 0.2;                 ///< read voltage of a full-scale DAC code (V)
  IrDrop ir_drop = IrDrop::none;       ///< wire-resistance model
  double r_wire = 1.0;                 ///< wire resistance per cell segment (ohm)
  double r_driver = 0.0;               ///< wordline driver output resistance (ohm)
  double r_sense = 0.0;                ///< bitline sense-amplifier input resistance (ohm)
  double ir_tol = 1e-9;                ///< iterative IR drop: relative residual to reach
  int ir_max_iter = 20000;             ///< iterative IR drop: iteration limit
  int adc_bits = 8;                    ///< ADC resolution (0 = ideal, no quantization)
  AdcRange adc_range = AdcRange::max;  ///< ADC full scale: largest possible signal or calibrated
  double adc_percentile = 99.99;       ///< calibrated full scale: percentile of ideal signals (%)

  /// Magnitude bits stored in cells: weight_bits - 1 (differential) or weight_bits (offset).
  int magnitude_bits() const { return sign_mode == SignMode::differential ? weight_bits - 1 : weight_bits; }
  /// Bit slices per sign: ceil(magnitude_bits / bits_per_cell); slice 0 is least significant.
  int slices() const { return (magnitude_bits() + bits_per_cell - 1) / bits_per_cell; }
  /// Cell columns per slice: 2 (differential) or 1 (offset).
  int signs() const { return sign_mode == SignMode::differential ? 2 : 1; }
  /// Physical columns of one logical (output) column: slices() * signs().
  int phys_cols_per_logical() const { return slices() * signs(); }
  /// Conductance levels per cell: 2^bits_per_cell.
  int levels() const { return 1 << bits_per_cell; }
  /// Conductance step between adjacent levels (S).
  double level_step() const { return (g_max - g_min) / (levels() - 1); }
  /// Offset added to a weight code in offset mode: 2^(weight_bits-1) - 1 (0 for differential).
  int weight_offset() const { return sign_mode == SignMode::offset ? (1 << (weight_bits - 1)) - 1 : 0; }
};

/// The hardware keys with defaults, units and allowed ranges (group "Hardware").
config::Schema hardware_schema();

/// HardwareConfig from settings holding hardware_schema(); validated (see validate()).
HardwareConfig hardware_from_settings(const config::Settings& s, bool check_weights = true);

/// Throws InvalidConfig naming the offending key when the values are inconsistent or
/// out of range (g_min >= g_max, bits <= 0, sigma < 0, a probability outside [0, 1],
/// and, with check_weights, weights that do not fit the slicing or the tile columns).
/// check_weights = false suits tools that program raw levels (`xbarmc tile`).
void validate(const HardwareConfig& hw, bool check_weights = true);

/// Key values as written in a config file (e.g. "static" for IrDrop::static_resistance).
std::string to_string(SignMode v);
std::string to_string(Variation v);
std::string to_string(IrDrop v);
std::string to_string(AdcRange v);
std::string to_string(WeightScale v);

}  // namespace xbarmc
