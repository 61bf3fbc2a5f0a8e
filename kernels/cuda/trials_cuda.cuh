#pragma once
// The CUDA trial runner: the same records as montecarlo::run_trials_cpu, computed
// with chip instances, crossbar layers and digital operators on the GPU, many
// trials and images per launch, batch sizes chosen from free device memory.

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "xbarmc/montecarlo/trials.hpp"

namespace xbarmc::cuda {

class TrialRunner {
 public:
  explicit TrialRunner(cudaStream_t stream);
  ~TrialRunner();
  TrialRunner(const TrialRunner&) = delete;
  TrialRunner& operator=(const TrialRunner&) = delete;
  /// Runs trials [first, first + count) of every arm; appends records in (trial, arm) order.
  void run(const montecarlo::Study& study, std::uint32_t first, std::uint32_t count,
           const montecarlo::RunControl& control, std::vector<montecarlo::TrialRecord>& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
  cudaStream_t stream_;
};

}  // namespace xbarmc::cuda
