#pragma once
// Stage times of the CUDA backend for `xbarmc run --profile`: CUDA events recorded on
// the stream between stages, read after the stream has synchronized. A stage's time is
// the GPU's time from its mark to the next mark, so it includes any time the GPU waited
// for the host to launch the stage's work.

#include <cuda_runtime.h>

#include <string>
#include <utility>
#include <vector>

#include "xbarmc/cuda/check.cuh"
#include "xbarmc/montecarlo/profile.hpp"

namespace xbarmc::cuda {

class StageTimer {
 public:
  /// profile == nullptr: every call does nothing.
  StageTimer(montecarlo::StageProfile* profile, cudaStream_t stream) : profile_(profile), stream_(stream) {
    if (profile_) profile_->set_clock("GPU time between CUDA events on the stream");
  }
  ~StageTimer() {
    for (cudaEvent_t e : pool_) cudaEventDestroy(e);
  }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

  bool on() const { return profile_ != nullptr; }

  /// The stream's work from here to the next mark (or close) is `stage`'s.
  void mark(const std::string& stage, montecarlo::StageKind kind) {
    if (!profile_) return;
    marks_.push_back(Mark{stage, kind, record()});
  }
  /// Ends the last stage.
  void close() {
    if (!profile_ || marks_.empty() || marks_.back().closing) return;
    marks_.push_back(Mark{std::string(), montecarlo::StageKind::transfer, record(), true});
  }
  /// After the stream has synchronized (and close()): adds every finished stage to the profile.
  void flush() {
    if (!profile_) return;
    for (std::size_t i = 0; i + 1 < marks_.size(); ++i) {
      if (marks_[i].closing) continue;
      float ms = 0.0f;
      XBARMC_CUDA_CHECK(cudaEventElapsedTime(&ms, pool_[marks_[i].event], pool_[marks_[i + 1].event]));
      profile_->add(marks_[i].stage, marks_[i].kind, 1e-3 * ms);
    }
    marks_.clear();
    used_ = 0;
  }

 private:
  struct Mark {
    std::string stage;
    montecarlo::StageKind kind;
    std::size_t event;
    bool closing = false;
  };
  std::size_t record() {
    if (used_ == pool_.size()) {
      cudaEvent_t e;
      XBARMC_CUDA_CHECK(cudaEventCreate(&e));
      pool_.push_back(e);
    }
    XBARMC_CUDA_CHECK(cudaEventRecord(pool_[used_], stream_));
    return used_++;
  }

  montecarlo::StageProfile* profile_;
  cudaStream_t stream_;
  std::vector<cudaEvent_t> pool_;
  std::size_t used_ = 0;
  std::vector<Mark> marks_;
};

}  // namespace xbarmc::cuda
