#pragma once
/// \file
/// Running a Model on batches of samples. The executor binds the graph once per
/// batch size (a plan: every shape known, shape arithmetic folded, buffers assigned
/// with reuse, scratch sized), then runs the plan's kernels with no allocation.
/// Weight layers call the MatmulProvider (nullptr: exact float via OpenBLAS sgemm).

#include <cstdint>
#include <memory>
#include <vector>

#include "xbarmc/model/model.hpp"
#include "xbarmc/model/tensor.hpp"

namespace xbarmc::model {

/// Makes OpenBLAS single-threaded (callers parallelize over batches with OpenMP).
/// Idempotent; Executor's constructor calls it.
void use_single_threaded_blas();

/// Runs one model; one executor per thread (it owns its buffers), reusable across calls.
/// It refers to the model's weight layers: keep the Model alive and in place while it runs.
class Executor {
 public:
  /// `max_batch`: samples per plan; run() splits larger requests.
  explicit Executor(const Model& model, std::int64_t max_batch = 32);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// Runs n normalized samples (row-major, input_shape() each) to logits
  /// (n x num_classes). provider == nullptr: exact float (sgemm). `node_seconds`, when
  /// given (one entry per graph node), gains each node's time on a steady clock.
  void run(const float* inputs, std::int64_t n, float* logits, MatmulProvider* provider = nullptr,
           std::vector<double>* node_seconds = nullptr);

  /// Shape of the graph output for a batch of `batch` samples (plans it).
  Shape output_shape(std::int64_t batch);
  /// Shapes of every graph value (by value index; empty for values never computed)
  /// for a batch of `batch` samples (plans it).
  const std::vector<Shape>& value_shapes(std::int64_t batch);

 private:
  struct Plan;
  Plan& plan_for(std::int64_t batch);

  const Model& model_;
  std::int64_t max_batch_;
  std::vector<std::unique_ptr<Plan>> plans_;
};

}  // namespace xbarmc::model
