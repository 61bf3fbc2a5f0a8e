#include "xbarmc/app/cli.hpp"

#include <exception>
#include <iostream>
#include <new>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"
#include "xbarmc/version.hpp"

namespace xbarmc::app {

namespace {

std::string g_command_line;

std::string top_help() {
  std::string s = fmt::format(
      "xbarmc: Monte Carlo reliability simulator for DNN inference on memristive crossbars\n\n"
      "Usage: xbarmc COMMAND [options]     (xbarmc COMMAND --help for its options)\n"
      "       xbarmc --version\n\nCommands:\n");
  for (const auto& c : commands()) s += fmt::format("  {:<10} {}\n", c.spec.name, c.spec.summary);
  s += "\nDocumentation: docs/ in the source tree (docs/physics.md: the hardware model, units and defaults).\n"
       "Exit codes: 0 ok, 1 runtime error, 2 usage or config error, 3 margin check failed, 4 undecided.\n";
  return s;
}

int dispatch(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << top_help();
    return exit_usage_error;
  }
  const std::string& first = args[0];
  if (first == "--version" || first == "-V") {
    std::cout << build::version_line() << "\n";
    return exit_ok;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    std::cout << top_help();
    return exit_ok;
  }
  for (const auto& c : commands()) {
    if (c.spec.name != first) continue;
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    config::ParsedCommand parsed = config::parse_command(c.spec, rest);
    if (parsed.help) {
      std::cout << config::format_help(c.spec);
      return exit_ok;
    }
    return c.run(parsed);
  }
  std::string names;
  for (const auto& c : commands()) names += (names.empty() ? "" : ", ") + c.spec.name;
  throw InvalidConfig(fmt::format("unknown command '{}'; commands: {} (see 'xbarmc --help')", first, names));
}

}  // namespace

const std::string& invoked_command_line() { return g_command_line; }

int run_cli(const std::vector<std::string>& args) {
  g_command_line = "xbarmc";
  for (const auto& a : args) {
    const bool quote = a.find_first_of(" \t\"'$") != std::string::npos || a.empty();
    g_command_line += " " + (quote ? "'" + a + "'" : a);
  }
  try {
    return dispatch(args);
  } catch (const Error& e) {
    std::cout.flush();
    std::cerr << "xbarmc: error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::cerr << "xbarmc: error: out of memory; use fewer --images, --trials per batch or --threads\n";
    return exit_runtime_error;
  } catch (const std::exception& e) {
    std::cerr << "xbarmc: internal error: " << e.what() << "\n";
    return exit_runtime_error;
  }
}

}  // namespace xbarmc::app
