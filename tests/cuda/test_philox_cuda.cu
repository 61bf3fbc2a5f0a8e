// The Philox known-answer vectors and the backend's raw draws on a GPU. Skipped
// (exit code 77, reported by ctest as skipped) on a machine without one.
#include <gtest/gtest.h>

#include <vector>

#include "../common/philox_kat.hpp"
#include "xbarmc/backend.hpp"
#include "xbarmc/cuda/check.cuh"
#include "xbarmc/cuda/device_buffer.cuh"
#include "xbarmc/rng/counter.hpp"

using namespace xbarmc;

namespace {
__global__ void kat_kernel(const test::PhiloxKat* kats, int n, rng::Block* out) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = rng::philox4x32_10(kats[i].counter, kats[i].key);
}
}  // namespace

TEST(PhiloxCuda, KnownAnswerVectors) {
  constexpr int n = sizeof(test::philox_kat_vectors) / sizeof(test::philox_kat_vectors[0]);
  std::vector<test::PhiloxKat> host(test::philox_kat_vectors, test::philox_kat_vectors + n);
  auto d_kats = cuda::DeviceBuffer<test::PhiloxKat>::from_host(host);
  cuda::DeviceBuffer<rng::Block> d_out(n);
  kat_kernel<<<1, 32>>>(d_kats.data(), n, d_out.data());
  XBARMC_CUDA_CHECK_LAUNCH();
  const auto out = d_out.to_host();
  for (int i = 0; i < n; ++i)
    for (int w = 0; w < 4; ++w) EXPECT_EQ(out[i].v[w], host[i].expected.v[w]) << host[i].name << " word " << w;
}

TEST(PhiloxCuda, RawDrawsEqualTheCpuBackend) {
  RawDrawRequest r;
  r.seed = 987654321;
  r.purpose = rng::Purpose::fault_map;
  r.trial_first = 11;
  r.trial_count = 4;
  r.layer = 3;
  r.tile = 17;
  r.element_count = 128 * 128;
  std::vector<std::uint32_t> cpu(std::size_t{4} * r.trial_count * r.element_count), gpu(cpu.size());
  make_cpu_backend(2)->draw_raw(r, cpu.data());
  cuda::make_backend(0)->draw_raw(r, gpu.data());
  EXPECT_EQ(cpu, gpu);
}
