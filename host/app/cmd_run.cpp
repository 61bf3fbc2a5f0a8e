// `xbarmc run`: the Monte Carlo study. Options are parsed and validated here; the
// engine behind them arrives with the Monte Carlo driver.
#include <fmt/format.h>

#include "xbarmc/app/cli.hpp"
#include "xbarmc/app/keys.hpp"
#include "xbarmc/errors.hpp"

namespace xbarmc::app {

namespace {

config::Schema run_keys() {
  using config::KeyDef;
  using config::Kind;
  config::Schema s;
  s.add(KeyDef("model", Kind::path, "", "ONNX model file", "Study"));
  s.add(KeyDef("data", Kind::path, "", "test images (IDX file or .npy)", "Study"));
  s.add(KeyDef("trials", Kind::integer, "100", "chip instances to simulate", "Study").at_least(1));
  s.add(KeyDef("images", Kind::integer, "0", "images per trial (0 = all)", "Study").at_least(0));
  s.add(KeyDef("out", Kind::path, "", "run directory to write", "Output"));
  s.merge(seed_key()).merge(backend_keys());
  return s;
}

int run_run(const config::ParsedCommand& cmd) {
  make_backend(backend_options(cmd.settings));  // validates --backend now
  throw Unsupported("xbarmc run: the Monte Carlo engine is not part of this build yet");
}

}  // namespace

Command make_run_command() {
  Command c;
  c.spec.name = "run";
  c.spec.summary = "Monte Carlo study: accuracy of many simulated chips running a network";
  c.spec.usage = "xbarmc run --model M.onnx --data D [options]";
  c.spec.schema = run_keys();
  c.spec.section_kinds = {"arm"};
  c.run = run_run;
  return c;
}

}  // namespace xbarmc::app
