#pragma once
/// \file
/// What a run reports: the statistics of each arm (accuracy distribution with
/// confidence intervals, drops against the float network, paired differences to the
/// first arm), the margin-gate verdicts, and the files of the run directory.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarmc/montecarlo/study.hpp"
#include "xbarmc/montecarlo/trials.hpp"
#include "xbarmc/stats/paired.hpp"
#include "xbarmc/stats/requirement.hpp"
#include "xbarmc/stats/summary.hpp"

namespace xbarmc::montecarlo {

/// Per-arm statistics over trials.
struct ArmStats {
  std::string name;
  std::vector<double> top1, top5;  ///< per trial, in trial order
  stats::Summary accuracy, accuracy_top5, stuck_cells;
  std::vector<double> layer_error_mean;  ///< per layer, mean over trials of the relative RMS error
  bool has_paired = false;               ///< a paired difference to arm 0 exists
  stats::PairedDifference paired_top1;   ///< this arm - first arm, paired by trial
};

/// One requirement evaluated on one arm.
struct RequirementResult {
  stats::Requirement requirement;
  std::string arm;
  stats::Evaluation evaluation;
};

/// Statistics of every arm from the records (any order; sorted by trial inside).
std::vector<ArmStats> compute_stats(const Study& study, const std::vector<TrialRecord>& records);

/// Evaluates the requirements on the arms they name (all arms when none is named),
/// at `confidence` (lower it for repeated looks; see docs/statistics.md).
std::vector<RequirementResult> evaluate_requirements(const std::vector<stats::Requirement>& reqs,
                                                     const std::vector<ArmStats>& arms, double float_accuracy,
                                                     double confidence);

/// trials.csv: one row per trial and arm, sorted by (trial, arm).
std::string trials_csv(const Study& study, std::vector<TrialRecord> records);

/// Provenance of a run for summary.json.
struct Provenance {
  std::string backend, device, command_line, started;
  int threads = 0;
  double wall_seconds = 0;
  double trial_images_per_second = 0;
  std::uint32_t trial_first = 0, trial_last = 0;  ///< [first, last)
  std::int64_t peak_rss_bytes = 0;
};

/// summary.json.
nlohmann::json summary_json(const Study& study, const std::vector<ArmStats>& arms,
                            const std::vector<RequirementResult>& requirements, stats::Verdict verdict,
                            const Provenance& provenance);

/// The terminal summary table.
std::string summary_table(const Study& study, const std::vector<ArmStats>& arms,
                          const std::vector<RequirementResult>& requirements, stats::Verdict verdict);

/// Peak resident memory of this process (bytes), from /proc/self/status (0 if unknown).
std::int64_t peak_rss_bytes();

}  // namespace xbarmc::montecarlo
