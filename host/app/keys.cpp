#include "xbarmc/app/keys.hpp"

namespace xbarmc::app {

using config::KeyDef;
using config::Kind;

config::Schema backend_keys() {
  config::Schema s;
  s.add(KeyDef("backend", Kind::choice, "auto",
               "compute backend: auto (CUDA when a GPU is visible, else CPU), cpu, or cuda", "Execution")
            .one_of({"auto", "cpu", "cuda"}));
  s.add(KeyDef("threads", Kind::integer, "0", "CPU threads (0 = all cores)", "Execution").range(0, 1024));
  s.add(KeyDef("gpu", Kind::integer, "0", "CUDA device index", "Execution").at_least(0));
  return s;
}

config::Schema seed_key() {
  config::Schema s;
  s.add(KeyDef("seed", Kind::integer, "1", "random seed (the Philox key); same seed, same results", "Execution")
            .at_least(0));
  return s;
}

config::Schema json_key() {
  config::Schema s;
  s.add(KeyDef("json", Kind::boolean, "false", "print JSON instead of text", "Output").as_flag().cli_only());
  return s;
}

BackendOptions backend_options(const config::Settings& s) {
  BackendOptions o;
  o.choice = s.get_text("backend");
  o.threads = static_cast<int>(s.get_int("threads"));
  o.gpu = static_cast<int>(s.get_int("gpu"));
  return o;
}

}  // namespace xbarmc::app
