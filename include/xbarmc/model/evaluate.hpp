#pragma once
/// \file
/// Running a whole dataset through a model on several threads, and top-k accuracy.

#include <cstdint>
#include <vector>

#include "xbarmc/model/model.hpp"

namespace xbarmc::model {

/// Logits (n x num_classes) of n samples: OpenMP over batches of `batch` samples,
/// one Executor per thread; `threads` 0 = all cores. provider == nullptr: exact float.
std::vector<float> run_batched(const Model& model, const float* inputs, std::int64_t n, MatmulProvider* provider,
                               int threads = 0, std::int64_t batch = 32);

/// Correct predictions among n samples.
struct Accuracy {
  std::int64_t count = 0;  ///< samples
  std::int64_t top1 = 0;   ///< label is the largest logit (ties: the lowest index wins, as argmax)
  std::int64_t top5 = 0;   ///< label among the 5 largest (all classes when there are fewer)
  double top1_rate() const { return count ? static_cast<double>(top1) / static_cast<double>(count) : 0.0; }
  double top5_rate() const { return count ? static_cast<double>(top5) / static_cast<double>(count) : 0.0; }
};

/// Top-1 and top-5 accuracy of `logits` (n x classes) against `labels`.
Accuracy accuracy(const float* logits, std::int64_t n, std::int64_t classes, const std::int32_t* labels);

/// Index of the largest of `classes` logits (the first on ties).
std::int64_t argmax(const float* logits, std::int64_t classes);

}  // namespace xbarmc::model
