#include "xbarmc/app/cli.hpp"

namespace xbarmc::app {

// Each subcommand lives in its own cmd_*.cpp.
Command make_run_command();
Command make_info_command();
Command make_tile_command();
Command make_eval_command();

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      make_run_command(),
      make_eval_command(),
      make_info_command(),
      make_tile_command(),
  };
  return all;
}

}  // namespace xbarmc::app
