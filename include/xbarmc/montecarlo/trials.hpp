#pragma once
/// \file
/// Running trials: one trial is one chip instance (variation and fault map of every
/// tile) of every arm, evaluated on all the study's images. Records are per trial
/// and arm and depend only on (seed, trial, arm): not on threads, batch sizes,
/// backend or how the trials are split.

#include <cstdint>
#include <vector>

namespace xbarmc::montecarlo {

class Study;
class Progress;
class StageProfile;

/// What one chip instance of one arm did.
struct TrialRecord {
  std::uint32_t trial = 0;
  int arm = 0;
  std::int64_t images = 0;
  std::int64_t top1 = 0;  ///< images classified correctly
  std::int64_t top5 = 0;  ///< images whose label is among the 5 largest logits
  std::int64_t stuck_off = 0;
  std::int64_t stuck_on = 0;
  std::vector<double> layer_rel_rms;  ///< per weight layer: ||y_xbar - y_float|| / ||y_float|| over all images
};

/// How to run trials.
struct RunControl {
  int threads = 0;                  ///< CPU threads (0 = all cores)
  std::int64_t image_batch = 32;    ///< images per executor call
  std::int64_t trial_batch = 0;     ///< trials in flight (0 = as many as threads, CPU; from memory, GPU)
  Progress* progress = nullptr;     ///< may be null
  StageProfile* profile = nullptr;  ///< time per stage (`--profile`); may be null
};

/// Runs trials [first, first + count) of every arm on the CPU; appends records in
/// (trial, arm) order.
void run_trials_cpu(const Study& study, std::uint32_t first, std::uint32_t count, const RunControl& control,
                    std::vector<TrialRecord>& out);

}  // namespace xbarmc::montecarlo
