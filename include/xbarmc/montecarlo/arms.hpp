#pragma once
/// \file
/// Arms of a study: variants that differ in hardware or strategy keys and are run
/// on the same chip instances (common random numbers). An arm is the base
/// configuration plus overrides, given as `--arm "[NAME:]key=value[,key=value...]"`
/// or as an INI section `[arm NAME]` with `key = value` lines.

#include <string>
#include <utility>
#include <vector>

#include "xbarmc/config/ini.hpp"
#include "xbarmc/config/settings.hpp"

namespace xbarmc::montecarlo {

/// One arm: a name and the keys it changes.
struct ArmSpec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> overrides;  ///< normalized key, value
  std::string source;                                          ///< "--arm" or "FILE:LINE"
};

/// Parses the arms of a run: INI sections first (in file order), then --arm texts.
/// `allowed` holds the keys an arm may change; any other key is an InvalidConfig
/// error naming it. No arms given: one arm "base" without overrides.
std::vector<ArmSpec> parse_arms(const std::vector<std::string>& cli_arms,
                                const std::vector<config::IniSection>& sections, const config::Schema& allowed,
                                const std::string& config_path);

/// The base settings with the arm's overrides applied (validated against the schema).
config::Settings apply_arm(const config::Settings& base, const ArmSpec& arm);

/// The arms as INI sections (`[arm NAME]` + lines), for a rerunnable config.ini.
std::string arms_to_ini(const std::vector<ArmSpec>& arms);

}  // namespace xbarmc::montecarlo
