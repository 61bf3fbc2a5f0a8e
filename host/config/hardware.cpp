#include "xbarmc/hardware.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"
#include "xbarmc/rng/distributions.hpp"

namespace xbarmc {

namespace {

constexpr const char* group = "Hardware";

template <typename E>
E parse_choice(const std::string& key, const std::string& value, std::initializer_list<std::pair<const char*, E>> map) {
  for (const auto& [name, e] : map) {
    if (value == name) return e;
  }
  throw InvalidConfig(fmt::format("{}: unknown value '{}'", key, value));
}

void require(bool ok, const char* key, const std::string& msg) {
  if (!ok) throw InvalidConfig(fmt::format("{}: {}", key, msg));
}

void require_finite_at_least(double v, double lo, const char* key, const char* unit) {
  require(std::isfinite(v) && v >= lo, key, fmt::format("must be a finite number >= {}{}, got {}", lo, unit, v));
}

}  // namespace

std::string to_string(SignMode v) { return v == SignMode::differential ? "differential" : "offset"; }
std::string to_string(Variation v) { return v == Variation::lognormal ? "lognormal" : "normal"; }
std::string to_string(AdcRange v) { return v == AdcRange::max ? "max" : "calibrated"; }
std::string to_string(WeightScale v) { return v == WeightScale::channel ? "channel" : "layer"; }
std::string to_string(IrDrop v) {
  switch (v) {
    case IrDrop::none:
      return "none";
    case IrDrop::static_resistance:
      return "static";
    case IrDrop::iterative:
      return "iterative";
    case IrDrop::exact:
      return "exact";
  }
  return "?";
}

config::Schema hardware_schema() {
  using config::KeyDef;
  using config::Kind;
  config::Schema s;
  s.add(KeyDef("weight_bits", Kind::integer, "8", "weight bits including the sign", group).range(1, 16));
  s.add(KeyDef("weight_scale", Kind::choice, "channel",
               "weight quantization scale: one per output column (channel) or one per layer", group)
            .one_of({"channel", "layer"}));
  s.add(KeyDef("sign_mode", Kind::choice, "differential",
               "signed weights: differential (a positive and a negative column per slice) or offset (one "
               "column holding w + 2^(weight_bits-1) - 1, offset subtracted digitally)",
               group)
            .one_of({"differential", "offset"}));
  s.add(
      KeyDef("bits_per_cell", Kind::integer, "2", "bits stored per cell: 1, 2 or 4 (2^bits conductance levels)", group)
          .range(1, 4));
  s.add(KeyDef("g_min", Kind::real, "1e-6", "conductance of the lowest level (S)", group).at_least(0));
  s.add(KeyDef("g_max", Kind::real, "100e-6", "conductance of the highest level (S)", group).at_least(0));
  s.add(KeyDef("rows", Kind::integer, "128", "tile rows (wordlines, one input each)", group).range(1, 4096));
  s.add(KeyDef("cols", Kind::integer, "128", "tile columns (bitlines, one ADC each)", group).range(1, 4096));
  s.add(KeyDef("variation", Kind::choice, "lognormal",
               "programming variation: lognormal (G exp(sigma z)) or normal (G + sigma (g_max - g_min) z, "
               "clipped at 0)",
               group)
            .one_of({"lognormal", "normal"}));
  s.add(KeyDef("sigma", Kind::real, "0.05",
               "programming variation (dimensionless: of ln G for lognormal, of G / (g_max - g_min) for normal)", group)
            .at_least(0));
  s.add(KeyDef("sigma_write_verify", Kind::real, "0.01",
               "programming variation of write-verified cells "
               "(dimensionless, as sigma)",
               group)
            .at_least(0));
  s.add(KeyDef("p_stuck_off", Kind::real, "0.001", "probability that a cell is stuck at g_min", group).range(0, 1));
  s.add(KeyDef("p_stuck_on", Kind::real, "0.001", "probability that a cell is stuck at g_max", group).range(0, 1));
  s.add(KeyDef("read_noise", Kind::real, "0", "read noise: relative standard deviation of each cell current per read",
               group)
            .at_least(0));
  s.add(KeyDef("input_bits", Kind::integer, "8",
               "activation bits (unsigned codes; signed codes include the sign and run in two phases)", group)
            .range(1, 16));
  s.add(KeyDef("dac_bits", Kind::integer, "1", "input bits applied per read (1 = bit-serial)", group).range(1, 16));
  s.add(KeyDef("v_read", Kind::real, "0.2", "read voltage of a full-scale DAC code (V)", group).at_least(0));
  s.add(KeyDef("ir_drop", Kind::choice, "none",
               "wire resistance model: none, static (series resistance by cell position), iterative (nodal "
               "equations by PCG to ir_tol), exact (direct elimination)",
               group)
            .one_of({"none", "static", "iterative", "exact"}));
  s.add(KeyDef("r_wire", Kind::real, "1.0", "wire resistance per cell segment, wordlines and bitlines (ohm)", group)
            .at_least(0));
  s.add(KeyDef("r_driver", Kind::real, "0", "wordline driver output resistance (ohm)", group).at_least(0));
  s.add(KeyDef("r_sense", Kind::real, "0", "bitline sense (virtual ground) input resistance (ohm)", group).at_least(0));
  s.add(KeyDef("ir_tol", Kind::real, "1e-9", "iterative IR drop: relative residual to reach (dimensionless)", group)
            .range(0, 1));
  s.add(KeyDef("ir_max_iter", Kind::integer, "20000", "iterative IR drop: iteration limit", group).at_least(1));
  s.add(KeyDef("adc_bits", Kind::integer, "8", "ADC resolution per column (bits; 0 = ideal, no quantization)", group)
            .range(0, 16));
  s.add(KeyDef("adc_range", Kind::choice, "max",
               "ADC full scale: max (largest possible column signal) or calibrated (adc_percentile of ideal "
               "signals over calibration inputs)",
               group)
            .one_of({"max", "calibrated"}));
  s.add(
      KeyDef("adc_percentile", Kind::real, "99.99", "calibrated ADC full scale: percentile of ideal signals (%)", group)
          .range(0, 100));
  return s;
}

HardwareConfig hardware_from_settings(const config::Settings& s, bool check_weights) {
  HardwareConfig hw;
  hw.weight_bits = static_cast<int>(s.get_int("weight_bits"));
  hw.weight_scale = parse_choice<WeightScale>("weight_scale", s.get_text("weight_scale"),
                                              {{"channel", WeightScale::channel}, {"layer", WeightScale::layer}});
  hw.sign_mode = parse_choice<SignMode>("sign_mode", s.get_text("sign_mode"),
                                        {{"differential", SignMode::differential}, {"offset", SignMode::offset}});
  hw.bits_per_cell = static_cast<int>(s.get_int("bits_per_cell"));
  hw.g_min = s.get_real("g_min");
  hw.g_max = s.get_real("g_max");
  hw.rows = static_cast<int>(s.get_int("rows"));
  hw.cols = static_cast<int>(s.get_int("cols"));
  hw.variation = parse_choice<Variation>("variation", s.get_text("variation"),
                                         {{"lognormal", Variation::lognormal}, {"normal", Variation::normal}});
  hw.sigma = s.get_real("sigma");
  hw.sigma_write_verify = s.get_real("sigma_write_verify");
  hw.p_stuck_off = s.get_real("p_stuck_off");
  hw.p_stuck_on = s.get_real("p_stuck_on");
  hw.read_noise = s.get_real("read_noise");
  hw.input_bits = static_cast<int>(s.get_int("input_bits"));
  hw.dac_bits = static_cast<int>(s.get_int("dac_bits"));
  hw.v_read = s.get_real("v_read");
  hw.ir_drop = parse_choice<IrDrop>("ir_drop", s.get_text("ir_drop"),
                                    {{"none", IrDrop::none},
                                     {"static", IrDrop::static_resistance},
                                     {"iterative", IrDrop::iterative},
                                     {"exact", IrDrop::exact}});
  hw.r_wire = s.get_real("r_wire");
  hw.r_driver = s.get_real("r_driver");
  hw.r_sense = s.get_real("r_sense");
  hw.ir_tol = s.get_real("ir_tol");
  hw.ir_max_iter = static_cast<int>(s.get_int("ir_max_iter"));
  hw.adc_bits = static_cast<int>(s.get_int("adc_bits"));
  hw.adc_range = parse_choice<AdcRange>("adc_range", s.get_text("adc_range"),
                                        {{"max", AdcRange::max}, {"calibrated", AdcRange::calibrated}});
  hw.adc_percentile = s.get_real("adc_percentile");
  validate(hw, check_weights);
  return hw;
}

void validate(const HardwareConfig& hw, bool check_weights) {
  require(hw.weight_bits >= 1 && hw.weight_bits <= 16, "weight_bits",
          fmt::format("must be between 1 and 16, got {}", hw.weight_bits));
  require(hw.bits_per_cell == 1 || hw.bits_per_cell == 2 || hw.bits_per_cell == 4, "bits_per_cell",
          fmt::format("must be 1, 2 or 4, got {}", hw.bits_per_cell));
  require(hw.rows >= 1 && hw.rows <= 4096, "rows", fmt::format("must be between 1 and 4096, got {}", hw.rows));
  require(hw.cols >= 1 && hw.cols <= 4096, "cols", fmt::format("must be between 1 and 4096, got {}", hw.cols));
  if (check_weights && hw.weight_bits < 2) {
    throw InvalidConfig(
        fmt::format("weight_bits: symmetric signed weights need at least 2 bits (a sign and one magnitude bit), got {}",
                    hw.weight_bits));
  }
  if (check_weights && hw.phys_cols_per_logical() > hw.cols) {
    throw InvalidConfig(fmt::format(
        "weight_bits: {}-bit {} weights with bits_per_cell = {} need {} slices x {} sign column(s) = {} physical "
        "columns per output, more than cols = {}; use fewer weight_bits, more bits_per_cell or more cols",
        hw.weight_bits, to_string(hw.sign_mode), hw.bits_per_cell, hw.slices(), hw.signs(), hw.phys_cols_per_logical(),
        hw.cols));
  }
  require_finite_at_least(hw.g_min, 0.0, "g_min", " S");
  require(std::isfinite(hw.g_max), "g_max", fmt::format("must be finite, got {}", hw.g_max));
  if (!(hw.g_min < hw.g_max)) {
    throw InvalidConfig(
        fmt::format("g_min: must be below g_max, got g_min = {} S >= g_max = {} S", hw.g_min, hw.g_max));
  }
  require_finite_at_least(hw.sigma, 0.0, "sigma", "");
  require_finite_at_least(hw.sigma_write_verify, 0.0, "sigma_write_verify", "");
  rng::bernoulli_thresholds(hw.p_stuck_off, hw.p_stuck_on, "p_stuck_off", "p_stuck_on");  // throws naming the key
  require_finite_at_least(hw.read_noise, 0.0, "read_noise", "");
  require(hw.input_bits >= 1 && hw.input_bits <= 16, "input_bits",
          fmt::format("must be between 1 and 16, got {}", hw.input_bits));
  require(hw.dac_bits >= 1 && hw.dac_bits <= 16, "dac_bits",
          fmt::format("must be between 1 and 16, got {}", hw.dac_bits));
  require(std::isfinite(hw.v_read) && hw.v_read > 0, "v_read", fmt::format("must be > 0 V, got {}", hw.v_read));
  require_finite_at_least(hw.r_wire, 0.0, "r_wire", " ohm");
  require_finite_at_least(hw.r_driver, 0.0, "r_driver", " ohm");
  require_finite_at_least(hw.r_sense, 0.0, "r_sense", " ohm");
  if ((hw.ir_drop == IrDrop::iterative || hw.ir_drop == IrDrop::exact) && !(hw.r_wire > 0)) {
    throw InvalidConfig(fmt::format(
        "r_wire: ir_drop = {} solves the wire network and needs r_wire > 0 ohm, got {}; use ir_drop = none for "
        "ideal wires",
        to_string(hw.ir_drop), hw.r_wire));
  }
  require(hw.ir_tol > 0 && hw.ir_tol < 1, "ir_tol", fmt::format("must be in (0, 1), got {}", hw.ir_tol));
  require(hw.ir_max_iter >= 1, "ir_max_iter", fmt::format("must be >= 1, got {}", hw.ir_max_iter));
  require(hw.adc_bits >= 0 && hw.adc_bits <= 16, "adc_bits",
          fmt::format("must be between 0 (ideal) and 16, got {}", hw.adc_bits));
  require(hw.adc_percentile > 0 && hw.adc_percentile <= 100, "adc_percentile",
          fmt::format("must be in (0, 100] %, got {}", hw.adc_percentile));
}

}  // namespace xbarmc
