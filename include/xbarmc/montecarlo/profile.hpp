#pragma once
/// \file
/// Where a run's time goes, stage by stage (`xbarmc run --profile`, docs/run.md). The
/// backends add the time of each stage as they go: the CPU backend thread-seconds (a
/// steady clock around each stage, summed over the threads that ran it), the CUDA
/// backend the GPU's own time between CUDA events on its stream. Profiling never
/// changes a result.

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace xbarmc::model {
class Model;
}

namespace xbarmc::montecarlo {

/// What a stage does.
enum class StageKind {
  chips,     ///< drawing chip instances (variation, faults, IR drop)
  crossbar,  ///< a weight layer read through its crossbars (with its error reference)
  digital,   ///< a digital operator (activation, pooling, normalization, ...)
  transfer,  ///< copies and result collection
};

/// "chips", "crossbar", "digital" or "transfer".
const char* stage_kind_name(StageKind kind);

/// The stage name of graph node `node` of `model`: "<op type> <node name>" (the node's
/// index when it has no name). Both backends name their stages this way.
std::string node_stage_name(const model::Model& model, int node);

/// The kind of graph node `node`'s stage: crossbar for a weight layer, else digital.
StageKind node_stage_kind(const model::Model& model, int node);

/// Time per stage, in the order stages first appear. Thread-safe.
class StageProfile {
 public:
  struct Stage {
    std::string name;
    StageKind kind = StageKind::digital;
    std::int64_t calls = 0;
    double seconds = 0.0;
  };

  /// What the seconds measure, e.g. "GPU time between CUDA events" (printed with the table).
  void set_clock(std::string clock);
  const std::string& clock() const { return clock_; }

  /// Adds `seconds` over `calls` calls to stage `name` (created with `kind` when new;
  /// adding 0 calls only fixes where a stage is listed).
  void add(const std::string& name, StageKind kind, double seconds, std::int64_t calls = 1);

  /// The stages that ran (at least one call), in the order they were first added.
  std::vector<Stage> stages() const;
  double total_seconds() const;

  /// profile.csv: `stage,kind,calls,seconds,share`, one row per stage in pipeline order
  /// (names quoted when they hold a comma or a quote).
  std::string csv() const;
  /// The terminal table: the time per kind, then the `top` longest stages.
  std::string table(std::size_t top = 10) const;

 private:
  mutable std::mutex mutex_;
  std::string clock_;
  std::vector<Stage> stages_;
  std::map<std::string, std::size_t> index_;
};

}  // namespace xbarmc::montecarlo
