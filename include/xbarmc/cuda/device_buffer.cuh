#pragma once
/// \file
/// Move-only RAII device memory (plain cudaMalloc, never managed memory).

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "xbarmc/cuda/check.cuh"

namespace xbarmc::cuda {

/// An array of `size()` elements of T in device memory; freed on destruction.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t n) : size_(n) {
    if (n > 0) XBARMC_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ptr_), n * sizeof(T)));
  }
  ~DeviceBuffer() { release(); }

  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }

  T* data() noexcept { return ptr_; }
  const T* data() const noexcept { return ptr_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return size_ * sizeof(T); }

  /// Copies host data in (n = size() by default) on `stream`.
  void upload(const T* host, std::size_t n, cudaStream_t stream = nullptr) {
    XBARMC_CUDA_CHECK(cudaMemcpyAsync(ptr_, host, n * sizeof(T), cudaMemcpyHostToDevice, stream));
  }
  /// Copies data out to the host on `stream` (synchronize before reading).
  void download(T* host, std::size_t n, cudaStream_t stream = nullptr) const {
    XBARMC_CUDA_CHECK(cudaMemcpyAsync(host, ptr_, n * sizeof(T), cudaMemcpyDeviceToHost, stream));
  }
  /// A buffer holding a copy of `host` (synchronous).
  static DeviceBuffer from_host(const std::vector<T>& host) {
    DeviceBuffer b(host.size());
    if (!host.empty()) XBARMC_CUDA_CHECK(cudaMemcpy(b.ptr_, host.data(), b.bytes(), cudaMemcpyHostToDevice));
    return b;
  }
  /// The contents as a host vector (synchronous).
  std::vector<T> to_host() const {
    std::vector<T> h(size_);
    if (size_) XBARMC_CUDA_CHECK(cudaMemcpy(h.data(), ptr_, bytes(), cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  void release() noexcept {
    if (ptr_) cudaFree(ptr_);  // never throws; an error here would be sticky and reported by the next check
    ptr_ = nullptr;
    size_ = 0;
  }
  T* ptr_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace xbarmc::cuda
