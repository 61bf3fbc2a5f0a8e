#include "xbarmc/montecarlo/run_keys.hpp"

#include "xbarmc/app/keys.hpp"
#include "xbarmc/hardware.hpp"
#include "xbarmc/mapping/strategy.hpp"

namespace xbarmc::montecarlo {

using config::KeyDef;
using config::Kind;

config::Schema strategy_schema() {
  config::Schema s;
  s.add(KeyDef("strategy", Kind::choice, "naive", "mapping strategy (weights to tiles; see docs/strategies.md)",
               "Mapping")
            .one_of(strategy_names()));
  return s;
}

config::Schema arm_schema() {
  config::Schema s = hardware_schema();
  s.merge(strategy_schema());
  return s;
}

config::Schema run_schema() {
  config::Schema s;
  s.add(KeyDef("model", Kind::path, "", "ONNX model file (its JSON card beside it gives the normalization)", "Study"));
  s.add(KeyDef("data", Kind::path, "",
               "evaluation images: an IDX or .npy file, or a Fashion-MNIST-layout directory (its test split)",
               "Study"));
  s.add(KeyDef("labels", Kind::path, "", "labels file (default: inferred from the images file name)", "Study"));
  s.add(KeyDef("images", Kind::integer, "1000", "evaluation images per trial (0 = all)", "Study").at_least(0));
  s.add(KeyDef("image_sample", Kind::choice, "first",
               "which images: the first N, or a random sample of N drawn from the seed", "Study")
            .one_of({"first", "random"}));
  s.add(KeyDef("calib_images", Kind::integer, "256",
               "calibration images for the input quantizers and calibrated ADC ranges (from the training split when "
               "it is next to the data, else the first evaluation images)",
               "Study")
            .range(1, 100000));
  s.add(KeyDef("trials", Kind::integer, "100", "chip instances to simulate", "Study").range(1, 1u << 30));
  s.add(KeyDef("trial_range", Kind::text, "",
               "run only trials A:B of the study ([A, B), e.g. 0:50; for splitting a study into parts)", "Study"));
  s.add(KeyDef("arm", Kind::text, "",
               "an arm: \"[NAME:]key=value[,key=value...]\" over hardware or strategy keys (repeatable; config "
               "files use [arm NAME] sections)",
               "Study")
            .repeat()
            .cli_only());
  s.merge(hardware_schema());
  s.merge(strategy_schema());
  s.add(KeyDef("require", Kind::text, "",
               "margin requirement, e.g. p05>=0.85, mean_drop<=0.01, ARM:p01_drop<=0.02 (repeatable; see "
               "docs/statistics.md)",
               "Margin gate")
            .repeat());
  s.add(KeyDef("until_decided", Kind::boolean, "false",
               "add trials in batches until every requirement is decided or --max-trials is reached", "Margin gate")
            .as_flag());
  s.add(
      KeyDef("max_trials", Kind::integer, "2000", "trial limit for --until-decided", "Margin gate").range(1, 1u << 30));
  s.merge(app::seed_key());
  s.merge(app::backend_keys());
  s.add(
      KeyDef("image_batch", Kind::integer, "64", "images per executor call (results do not depend on it)", "Execution")
          .range(1, 65536));
  s.add(KeyDef("trial_batch", Kind::integer, "0",
               "trials in flight at once (0 = automatic: threads on the CPU, from free memory on a GPU)", "Execution")
            .range(0, 1u << 20));
  s.add(KeyDef("out", Kind::path, "", "run directory to create (config.ini, trials.csv, summary.json)", "Output"));
  s.add(KeyDef("profile", Kind::boolean, "false",
               "time every stage (chip instances, each layer's crossbar reads, each digital operator) into "
               "profile.csv and print the longest; results are unchanged",
               "Output")
            .as_flag());
  s.add(KeyDef("overwrite", Kind::boolean, "false", "replace an existing run directory", "Output").as_flag());
  s.add(KeyDef("progress", Kind::choice, "auto",
               "progress on stderr: auto (a bar on a terminal, a line every few seconds otherwise), on, off", "Output")
            .one_of({"auto", "on", "off"}));
  return s;
}

}  // namespace xbarmc::montecarlo
