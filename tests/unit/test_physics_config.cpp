// Hardware keys: defaults, parsing from a command line or INI file, and every invalid
// value rejected with an error naming its key.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "../common/error_message.hpp"
#include "xbarmc/config/command_line.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/hardware.hpp"

using namespace xbarmc;

namespace {

using xbarmc::testing::message_or_empty;

config::CommandSpec spec() {
  config::CommandSpec s;
  s.name = "hw";
  s.usage = "hw";
  s.schema = hardware_schema();
  return s;
}

HardwareConfig parse(const std::vector<std::string>& args) {
  const auto cs = spec();
  const auto p = config::parse_command(cs, args);
  return hardware_from_settings(p.settings);
}

}  // namespace

TEST(PhysicsConfig, DefaultsMatchTheDesign) {
  const HardwareConfig hw = parse({});
  EXPECT_EQ(hw.weight_bits, 8);
  EXPECT_EQ(hw.weight_scale, WeightScale::channel);
  EXPECT_EQ(hw.sign_mode, SignMode::differential);
  EXPECT_EQ(hw.bits_per_cell, 2);
  EXPECT_DOUBLE_EQ(hw.g_min, 1e-6);
  EXPECT_DOUBLE_EQ(hw.g_max, 100e-6);
  EXPECT_EQ(hw.rows, 128);
  EXPECT_EQ(hw.cols, 128);
  EXPECT_EQ(hw.variation, Variation::lognormal);
  EXPECT_DOUBLE_EQ(hw.sigma, 0.05);
  EXPECT_DOUBLE_EQ(hw.sigma_write_verify, 0.01);
  EXPECT_DOUBLE_EQ(hw.p_stuck_off, 0.001);
  EXPECT_DOUBLE_EQ(hw.p_stuck_on, 0.001);
  EXPECT_DOUBLE_EQ(hw.read_noise, 0.0);
  EXPECT_EQ(hw.input_bits, 8);
  EXPECT_EQ(hw.dac_bits, 1);
  EXPECT_DOUBLE_EQ(hw.v_read, 0.2);
  EXPECT_EQ(hw.ir_drop, IrDrop::none);
  EXPECT_DOUBLE_EQ(hw.r_wire, 1.0);
  EXPECT_DOUBLE_EQ(hw.r_driver, 0.0);
  EXPECT_DOUBLE_EQ(hw.r_sense, 0.0);
  EXPECT_DOUBLE_EQ(hw.ir_tol, 1e-9);
  EXPECT_EQ(hw.ir_max_iter, 20000);
  EXPECT_EQ(hw.adc_bits, 8);
  EXPECT_EQ(hw.adc_range, AdcRange::max);
  EXPECT_DOUBLE_EQ(hw.adc_percentile, 99.99);
  // The struct's own defaults are the schema's.
  const HardwareConfig plain;
  EXPECT_EQ(plain.weight_bits, hw.weight_bits);
  EXPECT_EQ(plain.adc_bits, hw.adc_bits);
  EXPECT_DOUBLE_EQ(plain.sigma, hw.sigma);
  // Derived quantities of the default: 7 magnitude bits in 4 two-bit slices, two signs.
  EXPECT_EQ(hw.magnitude_bits(), 7);
  EXPECT_EQ(hw.slices(), 4);
  EXPECT_EQ(hw.signs(), 2);
  EXPECT_EQ(hw.phys_cols_per_logical(), 8);
  EXPECT_EQ(hw.levels(), 4);
  EXPECT_DOUBLE_EQ(hw.level_step(), 33e-6);
  EXPECT_EQ(hw.weight_offset(), 0);
}

TEST(PhysicsConfig, ParsesEveryChoice) {
  const HardwareConfig hw =
      parse({"--sign-mode", "offset", "--weight-scale", "layer", "--variation", "normal", "--ir-drop", "static",
             "--adc-range", "calibrated", "--bits-per-cell", "4", "--weight-bits", "6", "--r-sense", "5"});
  EXPECT_EQ(hw.sign_mode, SignMode::offset);
  EXPECT_EQ(hw.weight_scale, WeightScale::layer);
  EXPECT_EQ(hw.variation, Variation::normal);
  EXPECT_EQ(hw.ir_drop, IrDrop::static_resistance);
  EXPECT_EQ(hw.adc_range, AdcRange::calibrated);
  EXPECT_EQ(hw.magnitude_bits(), 6);
  EXPECT_EQ(hw.slices(), 2);
  EXPECT_EQ(hw.phys_cols_per_logical(), 2);
  EXPECT_EQ(hw.weight_offset(), 31);
  EXPECT_DOUBLE_EQ(hw.r_sense, 5.0);
  EXPECT_EQ(to_string(hw.ir_drop), "static");
  EXPECT_EQ(parse({"--ir-drop", "exact"}).ir_drop, IrDrop::exact);
  EXPECT_EQ(parse({"--ir-drop", "iterative"}).ir_drop, IrDrop::iterative);
}

TEST(PhysicsConfig, BadValuesNameTheirKey) {
  struct Bad {
    std::vector<std::string> args;
    std::string key;
  };
  const std::vector<Bad> bad = {
      {{"--g-min", "1e-4", "--g-max", "1e-4"}, "g_min"},
      {{"--g-min", "2e-4"}, "g_min"},
      {{"--g-min", "-1e-6"}, "g_min"},
      {{"--weight-bits", "0"}, "weight_bits"},
      {{"--weight-bits", "1"}, "weight_bits"},
      {{"--weight-bits", "1", "--sign-mode", "offset"}, "weight_bits"},
      {{"--input-bits", "0"}, "input_bits"},
      {{"--dac-bits", "0"}, "dac_bits"},
      {{"--adc-bits", "-1"}, "adc_bits"},
      {{"--bits-per-cell", "0"}, "bits_per_cell"},
      {{"--bits-per-cell", "3"}, "bits_per_cell"},
      {{"--rows", "0"}, "rows"},
      {{"--cols", "-4"}, "cols"},
      {{"--sigma", "-0.1"}, "sigma"},
      {{"--sigma-write-verify", "-1"}, "sigma_write_verify"},
      {{"--p-stuck-off", "1.5"}, "p_stuck_off"},
      {{"--p-stuck-on", "-0.5"}, "p_stuck_on"},
      {{"--p-stuck-off", "0.6", "--p-stuck-on", "0.6"}, "p_stuck_off + p_stuck_on"},
      {{"--read-noise", "-0.01"}, "read_noise"},
      {{"--v-read", "0"}, "v_read"},
      {{"--r-wire", "0", "--ir-drop", "exact"}, "r_wire"},
      {{"--r-wire", "0", "--ir-drop", "iterative"}, "r_wire"},
      {{"--r-wire", "-1"}, "r_wire"},
      {{"--ir-tol", "0"}, "ir_tol"},
      {{"--ir-max-iter", "0"}, "ir_max_iter"},
      {{"--adc-percentile", "0"}, "adc_percentile"},
      {{"--adc-percentile", "101"}, "adc_percentile"},
      // 8-bit differential weights need 7 one-bit slices x 2 signs = 14 columns.
      {{"--bits-per-cell", "1", "--cols", "8"}, "weight_bits"},
      {{"--ir-drop", "sometimes"}, "ir_drop"},
      {{"--sign-mode", "twos"}, "sign_mode"},
  };
  for (const auto& b : bad) {
    std::string all;
    for (const auto& a : b.args) all += a + " ";
    const std::string msg = message_or_empty<InvalidConfig>([&] { parse(b.args); });
    EXPECT_EQ(msg.rfind(b.key, 0), 0u) << all << "-> '" << msg << "'";
  }
  // Static IR drop with ideal wires is allowed, and so is g_min = 0.
  EXPECT_EQ(message_or_empty<InvalidConfig>([] {
              parse({"--r-wire", "0", "--ir-drop", "static", "--g-min", "0"});
            }),
            "");
  // 14 columns fit 14 columns exactly.
  EXPECT_EQ(message_or_empty<InvalidConfig>([] { parse({"--bits-per-cell", "1", "--cols", "14"}); }), "");
}

TEST(PhysicsConfig, ValidateCatchesProgrammaticValues) {
  HardwareConfig hw;
  hw.bits_per_cell = 3;
  EXPECT_EQ(message_or_empty<InvalidConfig>([&] { validate(hw); }).rfind("bits_per_cell", 0), 0u);
  hw = HardwareConfig{};
  hw.sigma = std::nan("");
  EXPECT_EQ(message_or_empty<InvalidConfig>([&] { validate(hw); }).rfind("sigma", 0), 0u);
  hw = HardwareConfig{};
  hw.cols = 4;  // too few for 8 weight columns, fine for raw levels
  EXPECT_NE(message_or_empty<InvalidConfig>([&] { validate(hw); }), "");
  EXPECT_EQ(message_or_empty<InvalidConfig>([&] { validate(hw, /*check_weights=*/false); }), "");
}
