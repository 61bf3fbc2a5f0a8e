#pragma once
/// \file
/// Parsing a subcommand's command line and optional `--config FILE` into Settings
/// (Boost.Program_options underneath), and formatting its --help.

#include <string>
#include <vector>

#include "xbarmc/config/ini.hpp"
#include "xbarmc/config/settings.hpp"

namespace xbarmc::config {

/// What a subcommand accepts.
struct CommandSpec {
  std::string name;                        ///< e.g. "run"
  std::string summary;                     ///< one line for `xbarmc --help`
  std::string usage;                       ///< e.g. "xbarmc run [options]"
  std::string details;                     ///< paragraphs printed after the options
  Schema schema;                           ///< its keys
  std::vector<std::string> section_kinds;  ///< INI section kinds it accepts (e.g. "arm")
};

/// The result of parsing: resolved settings plus the config file's extra sections.
struct ParsedCommand {
  explicit ParsedCommand(const Schema& schema) : settings(schema) {}
  Settings settings;
  bool help = false;
  std::string config_file;           ///< "" when none
  std::vector<IniSection> sections;  ///< sections other than the top-level one
};

/// Parses `args` (without the program and subcommand names). Unknown options,
/// unknown config keys, bad values and unknown section kinds throw InvalidConfig
/// naming the option or key and what is allowed.
ParsedCommand parse_command(const CommandSpec& spec, const std::vector<std::string>& args);

/// The --help text of a subcommand, keys grouped, defaults and units shown.
std::string format_help(const CommandSpec& spec);

}  // namespace xbarmc::config
