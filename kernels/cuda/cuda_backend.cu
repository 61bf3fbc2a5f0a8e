// The CUDA backend. Per-element physics comes from the same XBARMC_HD inline
// functions the CPU backend uses, so both take identical integer decisions.

#include <cuda_runtime.h>

#include <memory>

#include <fmt/format.h>

#include "trials_cuda.cuh"
#include "xbarmc/backend.hpp"
#include "xbarmc/cuda/check.cuh"
#include "xbarmc/cuda/device_buffer.cuh"
#include "xbarmc/errors.hpp"
#include "xbarmc/rng/counter.hpp"

namespace xbarmc::cuda {

namespace {

constexpr int block_size = 256;

__global__ void draw_raw_kernel(RawDrawRequest r, std::uint32_t* out) {
  const std::int64_t n = static_cast<std::int64_t>(r.trial_count) * r.element_count;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const auto t = static_cast<std::uint32_t>(i / r.element_count);
    const auto e = static_cast<std::uint32_t>(i % r.element_count);
    const rng::Block b = rng::draw_block(r.seed, r.purpose, r.trial_first + t, r.layer, r.tile, e);
    reinterpret_cast<uint4*>(out)[i] = make_uint4(b.v[0], b.v[1], b.v[2], b.v[3]);
  }
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int gpu) : gpu_(gpu) {
    XBARMC_CUDA_CHECK(cudaSetDevice(gpu_));
    cudaDeviceProp prop{};
    XBARMC_CUDA_CHECK(cudaGetDeviceProperties(&prop, gpu_));
    name_ = prop.name;
    sms_ = prop.multiProcessorCount;
    XBARMC_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~CudaBackend() override {
    runner_.reset();
    cudaStreamDestroy(stream_);
  }
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  BackendKind kind() const override { return BackendKind::cuda; }
  std::string name() const override { return "cuda"; }
  std::string device() const override { return fmt::format("{} (GPU {})", name_, gpu_); }

  void run_trials(const montecarlo::Study& study, std::uint32_t first, std::uint32_t count,
                  const montecarlo::RunControl& control, std::vector<montecarlo::TrialRecord>& out) override {
    XBARMC_CUDA_CHECK(cudaSetDevice(gpu_));
    if (!runner_) runner_ = std::make_unique<TrialRunner>(stream_);
    runner_->run(study, first, count, control, out);
  }

  void draw_raw(const RawDrawRequest& r, std::uint32_t* out) override {
    const std::size_t n = static_cast<std::size_t>(r.trial_count) * r.element_count;
    if (n == 0) return;
    DeviceBuffer<std::uint32_t> d(n * 4);
    const int grid = static_cast<int>(std::min<std::size_t>((n + block_size - 1) / block_size, 32u * sms_));
    draw_raw_kernel<<<grid, block_size, 0, stream_>>>(r, d.data());
    XBARMC_CUDA_CHECK_LAUNCH();
    d.download(out, n * 4, stream_);
    XBARMC_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

 private:
  int gpu_;
  std::string name_;
  int sms_ = 1;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<TrialRunner> runner_;
};

}  // namespace

bool compiled() { return true; }

int device_count() {
  int n = 0;
  const cudaError_t status = cudaGetDeviceCount(&n);
  if (status != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: clear the sticky error, report none
    return 0;
  }
  return n;
}

std::vector<GpuInfo> devices() {
  std::vector<GpuInfo> out;
  const int n = device_count();
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp prop{};
    XBARMC_CUDA_CHECK(cudaGetDeviceProperties(&prop, i));
    GpuInfo g;
    g.index = i;
    g.name = prop.name;
    g.total_bytes = prop.totalGlobalMem;
    g.cc_major = prop.major;
    g.cc_minor = prop.minor;
    g.multiprocessors = prop.multiProcessorCount;
    XBARMC_CUDA_CHECK(cudaSetDevice(i));
    std::size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) g.free_bytes = free_b;
    out.push_back(g);
  }
  return out;
}

std::unique_ptr<Backend> make_backend(int gpu) {
  const int n = device_count();
  if (n == 0) throw NoDevice("no CUDA device is visible (0 GPUs); use --backend cpu");
  if (gpu < 0 || gpu >= n) {
    throw InvalidConfig(
        fmt::format("gpu: device {} does not exist; this machine has {} GPU(s), 0 to {}", gpu, n, n - 1));
  }
  return std::make_unique<CudaBackend>(gpu);
}

}  // namespace xbarmc::cuda
