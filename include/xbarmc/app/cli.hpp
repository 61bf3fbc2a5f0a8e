#pragma once
/// \file
/// The `xbarmc` command-line program as a library call, so tests can drive it.

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "xbarmc/config/command_line.hpp"

namespace xbarmc::app {

/// A subcommand: what it accepts and what it does. `run` returns the exit code.
struct Command {
  config::CommandSpec spec;
  std::function<int(const config::ParsedCommand&)> run;
};

/// All subcommands, in the order `xbarmc --help` lists them.
const std::vector<Command>& commands();

/// Runs the CLI on `args` (args[0] is the subcommand). Prints errors to stderr as
/// "xbarmc: error: ..." and returns the exit code (0 ok, 1 runtime error, 2 usage
/// or config error, 3 margin check failed, 4 margin undecided).
int run_cli(const std::vector<std::string>& args);

/// The command line of the current run_cli() call ("xbarmc run --model ..."), for provenance.
const std::string& invoked_command_line();

}  // namespace xbarmc::app
