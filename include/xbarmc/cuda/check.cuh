#pragma once
/// \file
/// The CUDA error check used on every CUDA runtime and library call and after
/// every kernel launch: a failure throws xbarmc::CudaError with file and line.

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "xbarmc/errors.hpp"

namespace xbarmc::cuda {

/// Throws CudaError for a failed runtime call (out of memory gets an actionable hint).
inline void check(cudaError_t status, const char* expr, const char* file, int line) {
  if (status == cudaSuccess) return;
  std::string msg =
      std::string(expr) + " failed: " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")";
  if (status == cudaErrorMemoryAllocation) {
    msg += "; the GPU is out of memory: lower --trial-batch or --image-batch, or use a GPU with more memory";
  }
  throw CudaError(msg, file, line);
}

/// cuBLAS status names (cublasGetStatusString exists since CUDA 11.4).
inline void check(cublasStatus_t status, const char* expr, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw CudaError(std::string(expr) + " failed: " + cublasGetStatusString(status), file, line);
}

}  // namespace xbarmc::cuda

/// Checks a CUDA runtime or cuBLAS call.
#define XBARMC_CUDA_CHECK(expr) ::xbarmc::cuda::check((expr), #expr, __FILE__, __LINE__)

/// Checks the last launch (call right after every <<<...>>>).
#define XBARMC_CUDA_CHECK_LAUNCH() ::xbarmc::cuda::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
