#pragma once
/// \file
/// Progress of a run on stderr: a redrawn bar with trials done, trial-images/s and
/// the ETA on a terminal; a plain line every few seconds otherwise (logs, batch jobs).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace xbarmc::montecarlo {

class Progress {
 public:
  /// total_trials: trials x arms to run; images: images per trial.
  Progress(std::int64_t total_trials, std::int64_t images, bool enabled);
  /// Adds finished trials (thread-safe); prints when due.
  void add(std::int64_t trials);
  /// Raises the total (when --until-decided adds trials).
  void extend(std::int64_t more_trials);
  /// Final line.
  void finish();

 private:
  void print(bool final);
  std::mutex mutex_;
  std::int64_t total_, done_ = 0, images_;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

/// "1m23s", "4.2s".
std::string format_duration(double seconds);

}  // namespace xbarmc::montecarlo
