#pragma once
/// \file
/// Host/device annotations: functions marked XBARMC_HD compile for the CPU and,
/// under nvcc, for the GPU too, so both backends share one definition.

#if defined(__CUDACC__)
#define XBARMC_HD __host__ __device__ __forceinline__
#define XBARMC_DEVICE_CODE 1
#else
#define XBARMC_HD inline
#define XBARMC_DEVICE_CODE 0
#endif
