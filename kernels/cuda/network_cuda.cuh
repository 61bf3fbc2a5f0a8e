#pragma once
// A network on the GPU for a batch of trials x images: the graph planned once per
// batch size with the CPU executor's own shape inference (model::bind_op) and
// constant folding, activations in device buffers reused by lifetime, digital
// operators as CUDA kernels (ops_cuda.cuh) and every weight layer a crossbar layer.

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "crossbar_cuda.cuh"
#include "xbarmc/cuda/device_buffer.cuh"
#include "xbarmc/model/model.hpp"

namespace xbarmc::cuda {

class StageTimer;

/// What the crossbar layers of one run use: per weight layer and group, the matrix,
/// the input quantizer and the chips of the batch's trials; and where the per-item
/// error sums go.
struct CrossbarBinding {
  std::vector<std::vector<const DeviceMatrix*>> matrices;  ///< [layer][group]
  std::vector<std::vector<quant::Quantizer>> quantizers;   ///< [layer][group]
  std::vector<std::vector<const __half*>> hi, lo;          ///< [layer][group]: chips of the batch's trials
  std::vector<std::vector<const float*>> weights;          ///< [layer][group]: float K x M (error reference)
  std::vector<std::vector<double*>> errors;                ///< [layer][group]: per trial {err, ref} sums
  // Where read noise is drawn (see CrossbarLaunch): the study's seed, the batch's first
  // trial, each matrix's id, and the first image of this pass (vector indices within a
  // trial count from image 0, as on the CPU).
  std::uint64_t seed = 0;
  std::uint32_t trial0 = 0;
  std::vector<std::vector<std::uint32_t>> ids;  ///< [layer][group]
  std::int64_t first_image = 0;
  /// Images per trial of the whole run (0: this pass's): CrossbarLaunch::run_samples_per_trial.
  std::int64_t run_images = 0;
};

/// The planned network for `trials` x `images_per_trial` samples.
class GpuNetwork {
 public:
  GpuNetwork(const model::Model& model, int trials, std::int64_t images_per_trial, cudaStream_t stream);
  ~GpuNetwork();
  GpuNetwork(const GpuNetwork&) = delete;
  GpuNetwork& operator=(const GpuNetwork&) = delete;

  /// Device input: trials x images x sample (write it before run()).
  float* input() const { return input_; }
  /// Device logits: trials x images x classes (valid after run()).
  const float* logits() const { return output_; }
  /// Runs the network with the given crossbar binding; `timer` (may be null) marks each
  /// node's kernels as a stage (montecarlo::node_stage_name).
  void run(const CrossbarBinding& binding, StageTimer* timer = nullptr);
  /// Bytes of device memory the activations take.
  std::size_t activation_bytes() const { return activation_bytes_; }

  /// Activation bytes per sample a plan of this model needs (planned for one sample).
  static std::size_t bytes_per_sample(const model::Model& model);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  float* input_ = nullptr;
  float* output_ = nullptr;
  std::size_t activation_bytes_ = 0;
};

}  // namespace xbarmc::cuda
