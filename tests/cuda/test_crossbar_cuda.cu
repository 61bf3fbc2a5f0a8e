// The CUDA crossbar against the CPU backend on the same chips: stuck-cell decisions
// bitwise, layer outputs equal except where a column signal sits within float rounding
// of an ADC code boundary (counted and bounded), for several hardware variants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "../../kernels/cuda/crossbar_common.cuh"
#include "../../kernels/cuda/crossbar_cuda.cuh"
#include "../common/error_message.hpp"
#include "../common/scoped_env.hpp"
#include "xbarmc/cuda/check.cuh"
#include "xbarmc/cuda/device_buffer.cuh"
#include "xbarmc/errors.hpp"
#include "xbarmc/physics/crossbar.hpp"
#include "xbarmc/rng/counter.hpp"
#include "xbarmc/rng/distributions.hpp"

using namespace xbarmc;

namespace {

std::vector<float> random_values(std::size_t n, std::uint32_t stream, float lo, float hi) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const rng::Block b = rng::draw_block(99, rng::Purpose::test, stream, 0, 0, static_cast<std::uint32_t>(i));
    v[i] = lo + (hi - lo) * rng::u01f(b.v[0]);
  }
  return v;
}

struct Case {
  const char* name;
  HardwareConfig hw;
  bool signed_inputs;
  std::int64_t K = 300;     // 3 row tiles of 128 rows
  std::int64_t M = 40;      // 2 column tiles
  bool batch_body = false;  // XBARMC_CUDA_BATCH=on runs the batched body (detail::warp_batch_applies)
  bool one_sign = false;    // of every 4 vectors: one of both signs, one positive, one negative, one all 0
};

std::vector<Case> cases() {
  std::vector<Case> c;
  HardwareConfig d;  // defaults: 8-bit weights, 2-bit cells, differential, 8-bit ADC, sigma 0.05, faults
  c.push_back({"default", d, false, 300, 40, true});       // also on the narrow variant's batched body
  c.push_back({"signed_inputs", d, true, 300, 40, true});  // batched body, column sums folded per pass
  HardwareConfig s = d;
  s.ir_drop = IrDrop::static_resistance;
  s.r_wire = 2.0;
  c.push_back({"static_ir", s, false});
  HardwareConfig o = d;
  o.sign_mode = SignMode::offset;
  o.bits_per_cell = 4;
  o.adc_bits = 6;
  c.push_back({"offset_4bit_cells", o, true});
  HardwareConfig dac = d;
  dac.dac_bits = 2;
  dac.variation = Variation::normal;
  dac.sigma = 0.02;
  c.push_back({"dac2_normal", dac, false});
  HardwareConfig ideal = d;
  ideal.sigma = 0;
  ideal.p_stuck_off = ideal.p_stuck_on = 0;
  ideal.adc_bits = 0;
  c.push_back({"ideal", ideal, true});
  HardwareConfig noisy = d;  // read noise: the warp kernel whatever was asked
  noisy.read_noise = 0.05;
  c.push_back({"read_noise", noisy, true});
  HardwareConfig noisy_dac = noisy;  // read noise with 2-bit DAC codes: the variance takes their squares
  noisy_dac.dac_bits = 2;
  c.push_back({"read_noise_dac2", noisy_dac, true});
  noisy_dac.dac_bits = 8;
  c.push_back({"read_noise_dac8", noisy_dac, false});
  HardwareConfig tall = d;  // 256-row tiles: the warp kernel whatever was asked
  tall.rows = 256;
  c.push_back({"rows256", tall, false, 300, 40, true});  // also on the tall variant's batched body
  HardwareConfig noisy_tall = tall;                      // read noise on 256-row tiles
  noisy_tall.read_noise = 0.05;
  c.push_back({"read_noise_rows256", noisy_tall, true});
  HardwareConfig deep = d;  // 512-row tiles (300 rows used): the warp kernel in row chunks of 128 + 128 + 48 rows
  deep.rows = 512;
  c.push_back({"rows512", deep, true});
  HardwareConfig noisy_deep = deep;  // and with read noise (chunks of 64 rows: the variances are kept too)
  noisy_deep.read_noise = 0.05;
  c.push_back({"read_noise_rows512", noisy_deep, false});
  HardwareConfig long_inputs = d;  // signed 12-bit inputs: 2 phases x 11 reads, one pass per phase on the warp kernel
  long_inputs.input_bits = 12;
  c.push_back({"signed_12bit_inputs", long_inputs, true});
  HardwareConfig noisy_long = long_inputs;  // and with read noise (the warp kernel only)
  noisy_long.read_noise = 0.05;
  c.push_back({"read_noise_signed_12bit", noisy_long, true});
  HardwareConfig deep_long = long_inputs;  // on 512-row tiles: row chunks with partial sums per read group
  deep_long.rows = 512;
  c.push_back({"signed_12bit_rows512", deep_long, true});
  HardwareConfig wide = d;  // 256-column tiles: the warp kernel in column windows whatever was asked
  wide.cols = 256;
  c.push_back({"cols256", wide, false});
  HardwareConfig iterative = d;  // chips with the nodal PCG solved on the GPU (64 x 64 tiles: a quick CPU side)
  iterative.ir_drop = IrDrop::iterative;
  iterative.r_wire = 1.0;
  iterative.rows = iterative.cols = 64;
  c.push_back({"iterative_ir", iterative, false});
  // 27 rows (a first convolution's 3 x 3 x 3): the warp kernel's short variant, which also
  // runs at 3 blocks per SM or as the narrow variant (XBARMC_CUDA_SHORT), with the same bits.
  c.push_back({"rows27_short", d, true, 27, 40, true});  // batched body on 128-column windows: folded per pass
  // 25 rows and 6 outputs (48 columns), LeNet-5's conv1 as a dense layer: on the short
  // variant, and on its batched body (XBARMC_CUDA_BATCH=on) with the same bits.
  c.push_back({"rows25_cols48_batch", d, true, 25, 6, true});
  // The same with vectors of one sign and of zeros, as a normalized image's patches: the
  // batched body skips the phases whose DAC codes are all 0 (XBARMC_CUDA_SKIP_ZERO), two
  // vectors of one sign per pass, with the same bits.
  c.push_back({"rows25_cols48_one_sign", d, true, 25, 6, true, true});
  return c;
}

// A dense K x M layer's launch over `samples` vectors of `xq`-quantized inputs (what the
// kernel-choice and refusal tests below need).
cuda::CrossbarLaunch dense_launch(const cuda::DeviceMatrix& dm, std::int64_t K, std::int64_t M, std::int64_t samples,
                                  const quant::Quantizer& xq) {
  cuda::CrossbarLaunch l;
  l.m = &dm;
  l.geo.K = K;
  l.geo.M = M;
  l.samples_per_trial = samples;
  l.xq = xq;
  return l;
}

}  // namespace

// Kernel variants: the block kernel with 256 and 512 threads, and the warp kernel.
struct Variant {
  const char* name;
  cuda::CrossbarKernel kernel;
  int threads;
};
const Variant kVariants[] = {
    {"block256", cuda::CrossbarKernel::block, 256},
    {"block512", cuda::CrossbarKernel::block, 512},
    {"warp", cuda::CrossbarKernel::warp, 0},
};

class CrossbarCuda : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(CrossbarCuda, EqualsTheCpuOnTheSameChips) {
  const Case cs = cases()[std::get<0>(GetParam())];
  const Variant variant = kVariants[std::get<1>(GetParam())];
  const std::int64_t K = cs.K, M = cs.M, n = 96;  // shapes that do not divide the tile
  const int trials = 3;
  const std::uint64_t seed = 7;
  const std::uint32_t layer = 5;
  const auto W = random_values(K * M, 1, -1.0f, 1.0f);
  auto X = random_values(trials * n * K, 2, cs.signed_inputs ? -1.0f : 0.0f, 1.0f);
  if (cs.one_sign) {
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(X.size()); ++i) {
      const std::int64_t kind = (i / K) % 4;  // the vector's: 0 both signs, 1 positive, 2 negative, 3 zeros
      X[i] = kind == 0 ? X[i] : kind == 1 ? std::fabs(X[i]) : kind == 2 ? -std::fabs(X[i]) : 0.0f;
    }
  }
  const MappedMatrix mm = map_naive(W.data(), K, M, cs.hw);
  const quant::Quantizer xq = quant::activation_quantizer(cs.signed_inputs ? -1.0f : 0.0f, 1.0f, cs.hw.input_bits);

  // GPU: chips of `trials` trials, then one dense crossbar layer over trials x n vectors.
  cuda::DeviceMatrix dm = cuda::upload_matrix(mm);
  cuda::DeviceBuffer<__half> hi(dm.leff_per_chip() * trials), lo(dm.leff_per_chip() * trials);
  cuda::DeviceBuffer<unsigned long long> stuck(2 * trials);
  XBARMC_CUDA_CHECK(cudaMemset(stuck.data(), 0, stuck.bytes()));
  cuda::instantiate_chips(dm, seed, 0, trials, layer, hi.data(), lo.data(), stuck.data(), nullptr);
  auto d_x = cuda::DeviceBuffer<float>::from_host(X);
  cuda::DeviceBuffer<float> d_y(trials * n * M);
  auto d_w = cuda::DeviceBuffer<float>::from_host(W);
  cuda::DeviceBuffer<double> d_err(2 * trials);
  XBARMC_CUDA_CHECK(cudaMemset(d_err.data(), 0, d_err.bytes()));
  cuda::CrossbarLaunch l;
  l.m = &dm;
  l.geo.K = K;
  l.geo.M = M;
  l.geo.positions = 1;
  l.xq = xq;
  l.leff_hi = hi.data();
  l.leff_lo = lo.data();
  l.trials = trials;
  l.samples_per_trial = n;
  l.in = d_x.data();
  l.out = d_y.data();
  l.weights = d_w.data();
  l.errors = d_err.data();
  l.seed = seed;
  l.trial0 = 0;
  l.layer_id = layer;
  l.threads = variant.threads;
  l.kernel = variant.kernel;
  if (cs.hw.read_noise > 0 || cs.hw.rows > 128 || cs.hw.cols > 128) {
    ASSERT_EQ(cuda::crossbar_kernel(l), cuda::CrossbarKernel::warp)
        << "read noise, tall and wide tiles run on the warp kernel";
    if (variant.kernel != cuda::CrossbarKernel::warp) GTEST_SKIP() << "the warp variant covers this case";
  }
  ASSERT_EQ(cuda::crossbar_kernel(l), variant.kernel) << "the variant under test must be the one that runs";
  cuda::DeviceBuffer<double> scratch(2 * cuda::crossbar_items(l));
  l.scratch = scratch.data();
  cuda::crossbar_layer(l, nullptr);
  XBARMC_CUDA_CHECK(cudaDeviceSynchronize());
  const auto y_gpu = d_y.to_host();
  const auto stuck_gpu = stuck.to_host();
  const auto err_gpu = d_err.to_host();
  // The layer again with environment variable `var` set to `value`: the same output and
  // error-sum bits.
  const auto expect_same_bits_with = [&](const char* var, const char* value) {
    const xbarmc::testing::ScopedEnv env(var, value);
    XBARMC_CUDA_CHECK(cudaMemset(d_err.data(), 0, d_err.bytes()));
    cuda::crossbar_layer(l, nullptr);
    XBARMC_CUDA_CHECK(cudaDeviceSynchronize());
    const auto y_again = d_y.to_host();
    std::int64_t differ = 0;
    for (std::size_t i = 0; i < y_gpu.size(); ++i) differ += std::memcmp(&y_gpu[i], &y_again[i], sizeof(float)) != 0;
    EXPECT_EQ(differ, 0) << "outputs with " << var << "=" << value << " that differ from the default";
    EXPECT_EQ(d_err.to_host(), err_gpu) << var << "=" << value;
  };
  if (variant.kernel == cuda::CrossbarKernel::warp) {
    // Where a column's sums are exact (warp::exact_shift_add) the warp kernel adds its reads
    // in registers; the staged shift-add through shared memory gives the same bits.
    expect_same_bits_with("XBARMC_CUDA_SHIFT_ADD", "staged");
  }
  // The float reference's kernel compiled for ptxas's choice of registers (128) rather
  // than for 4 blocks per SM: the same body, so the same error sums (and outputs).
  expect_same_bits_with("XBARMC_CUDA_REF", "2");
  if (variant.kernel == cuda::CrossbarKernel::warp && cs.K <= 32) {
    // The short variant (tiles of up to 32 rows) compiled for 3 blocks per SM, and the
    // narrow variant on the same chunks: the same bits as the default (4 blocks per SM).
    for (const char* v : {"3", "narrow"}) expect_same_bits_with("XBARMC_CUDA_SHORT", v);
  }
  if (variant.kernel == cuda::CrossbarKernel::warp) {
    // The batched body of the short and narrow variants, where it applies
    // (detail::warp_batch_applies; elsewhere the variant runs): the same bits.
    expect_same_bits_with("XBARMC_CUDA_BATCH", "on");
    {  // where it skips the phases whose DAC codes are all 0, reading every phase: the same
       // bits (elsewhere XBARMC_CUDA_SKIP_ZERO=off runs what the line above ran)
      const xbarmc::testing::ScopedEnv batch("XBARMC_CUDA_BATCH", "on");
      if (cuda::detail::warp_batch_skips_zero_phases(l)) expect_same_bits_with("XBARMC_CUDA_SKIP_ZERO", "off");
    }
    const bool batched = cuda::detail::warp_batch_body_applies(l);
    if (cs.batch_body) EXPECT_TRUE(batched) << "a case meant for the batched body";
    if (cs.one_sign)
      EXPECT_TRUE(cuda::detail::warp_batch_skips_zero_phases(l)) << "a case meant for skipping zero phases";
    std::printf("%s: the batched body %s\n", cs.name, batched ? "ran, with the same bits" : "does not apply");
  }
  {
    // Every trial reading the same inputs (a network's first crossbar layer): the float
    // reference computed once and copied to the other trials (same_input_per_trial) gives
    // the bits of computing it for every trial.
    std::vector<float> x_same(X.size());
    for (int t = 0; t < trials; ++t) std::copy(X.begin(), X.begin() + n * K, x_same.begin() + t * n * K);
    auto d_x_same = cuda::DeviceBuffer<float>::from_host(x_same);
    cuda::CrossbarLaunch ls = l;
    ls.in = d_x_same.data();
    const auto run_same = [&](bool copied) {
      ls.same_input_per_trial = copied;
      XBARMC_CUDA_CHECK(cudaMemset(d_err.data(), 0, d_err.bytes()));
      XBARMC_CUDA_CHECK(cudaMemset(d_y.data(), 0xff, d_y.bytes()));  // NaNs
      cuda::crossbar_layer(ls, nullptr);
      XBARMC_CUDA_CHECK(cudaDeviceSynchronize());
      return std::make_pair(d_y.to_host(), d_err.to_host());
    };
    const auto every = run_same(false), once = run_same(true);
    std::int64_t differ = 0;
    for (std::size_t i = 0; i < every.first.size(); ++i)
      differ += std::memcmp(&every.first[i], &once.first[i], sizeof(float)) != 0;
    EXPECT_EQ(differ, 0) << "outputs with the reference copied from the first trial";
    EXPECT_EQ(every.second, once.second) << "error sums with the reference copied from the first trial";
    // (each trial's sum of squared references: the same inputs, so the same sum)
    EXPECT_EQ(once.second[1], once.second[2 * trials - 1]) << "the last trial's reference differs from the first's";
  }

  // CPU: the same trials.
  std::int64_t mismatched = 0, total = 0;
  double scale = 0.0;
  for (float v : y_gpu) scale = std::max(scale, static_cast<double>(std::fabs(v)));
  for (int t = 0; t < trials; ++t) {
    ChipMatrix chip;
    instantiate(mm, seed, static_cast<std::uint32_t>(t), layer, chip);
    std::int64_t off = 0, on = 0;
    for (const auto& ts : chip.tiles) {
      off += ts.stuck_off;
      on += ts.stuck_on;
    }
    EXPECT_EQ(stuck_gpu[2 * t], static_cast<unsigned long long>(off)) << "trial " << t;
    EXPECT_EQ(stuck_gpu[2 * t + 1], static_cast<unsigned long long>(on)) << "trial " << t;
    std::vector<float> y_cpu(n * M);
    CrossbarWorkspace ws;
    crossbar_matmul(mm, chip, xq, X.data() + t * n * K, n, y_cpu.data(), ws, seed, static_cast<std::uint32_t>(t), layer,
                    0);
    for (std::int64_t i = 0; i < n * M; ++i) {
      ++total;
      const double d = std::fabs(static_cast<double>(y_gpu[t * n * M + i]) - y_cpu[i]);
      if (d > 1e-6 * scale) ++mismatched;
    }
    // The layer error against the exact float product (what the engine records per layer).
    double e = 0.0, r = 0.0;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t m = 0; m < M; ++m) {
        double exact = 0.0;
        for (std::int64_t k = 0; k < K; ++k) exact += static_cast<double>(X[(t * n + i) * K + k]) * W[k * M + m];
        e += (y_cpu[i * M + m] - exact) * (y_cpu[i * M + m] - exact);
        r += exact * exact;
      }
    EXPECT_NEAR(err_gpu[2 * t + 1], r, 1e-4 * r) << "trial " << t << ": sum of squared exact outputs";
    EXPECT_NEAR(err_gpu[2 * t], e, 2e-2 * e + 1e-9 * r) << "trial " << t << ": sum of squared errors";
  }
  // A code flips only where a column signal is within ~1e-6 (relative) of a code boundary.
  std::printf("%s (%s): %lld of %lld outputs differ from the CPU\n", cs.name, variant.name,
              static_cast<long long>(mismatched), static_cast<long long>(total));
  if (cs.hw.sigma == 0 && cs.hw.p_stuck_on == 0) {
    EXPECT_EQ(mismatched, 0) << "ideal hardware has integer signals: no code can differ";
  } else {
    EXPECT_LE(mismatched, total / 200) << "more than 0.5% of the outputs differ";
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, CrossbarCuda,
                         ::testing::Combine(::testing::Range(0, static_cast<int>(cases().size())),
                                            ::testing::Range(0, 3)),
                         [](const ::testing::TestParamInfo<std::tuple<int, int>>& info) {
                           return std::string(cases()[std::get<0>(info.param)].name) + "_" +
                                  kVariants[std::get<1>(info.param)].name;
                         });

// More than 16 reads per vector (here signed 10-bit inputs with a 1-bit DAC: 2 phases x 9
// steps) run on the warp kernel too, one pass per phase; the block kernel takes them when
// asked.
TEST(CrossbarCudaKernel, WarpReadsLongSignedInputsOnePhasePerPass) {
  HardwareConfig hw;
  hw.input_bits = 10;
  const auto W = random_values(64 * 8, 3, -1.0f, 1.0f);
  const MappedMatrix mm = map_naive(W.data(), 64, 8, hw);
  cuda::DeviceMatrix dm = cuda::upload_matrix(mm);
  cuda::CrossbarLaunch l = dense_launch(dm, 64, 8, 10, quant::activation_quantizer(-1.0f, 1.0f, hw.input_bits));
  l.kernel = cuda::CrossbarKernel::warp;
  EXPECT_EQ(cuda::crossbar_kernel(l), cuda::CrossbarKernel::warp);
  l.kernel = cuda::CrossbarKernel::block;
  EXPECT_EQ(cuda::crossbar_kernel(l), cuda::CrossbarKernel::block);
}

// DAC codes enter the tensor-core product as fp16 (exact up to 2^11): wider codes are
// refused with the key to change, on either kernel.
TEST(CrossbarCudaKernel, DacCodesWiderThanElevenBitsAreRefused) {
  HardwareConfig hw;
  hw.input_bits = 12;
  hw.dac_bits = 12;
  const auto W = random_values(32 * 4, 4, -1.0f, 1.0f);
  const MappedMatrix mm = map_naive(W.data(), 32, 4, hw);
  cuda::DeviceMatrix dm = cuda::upload_matrix(mm);
  for (const auto kernel : {cuda::CrossbarKernel::block, cuda::CrossbarKernel::warp}) {
    cuda::CrossbarLaunch l = dense_launch(dm, 32, 4, 4, quant::activation_quantizer(0.0f, 1.0f, hw.input_bits));
    l.kernel = kernel;
    try {
      cuda::crossbar_layer(l, nullptr);
      ADD_FAILURE() << "12-bit DAC codes were accepted by the " << cuda::to_string(kernel) << " kernel";
    } catch (const Unsupported& e) {
      EXPECT_NE(std::string(e.what()).find("dac_bits"), std::string::npos) << e.what();
    }
  }
}

// Read noise takes squared DAC codes in f16 (hi + lo parts), in range for codes of up to
// 8 bits: wider ones are refused with the key to change.
TEST(CrossbarCudaKernel, ReadNoiseWithDacCodesWiderThanEightBitsIsRefused) {
  HardwareConfig hw;
  hw.read_noise = 0.05;
  hw.dac_bits = 9;
  hw.input_bits = 10;  // 10-bit unsigned inputs: 2 reads of 9-bit DAC codes
  const auto W = random_values(32 * 4, 7, -1.0f, 1.0f);
  const MappedMatrix mm = map_naive(W.data(), 32, 4, hw);
  cuda::DeviceMatrix dm = cuda::upload_matrix(mm);
  cuda::CrossbarLaunch l = dense_launch(dm, 32, 4, 4, quant::activation_quantizer(0.0f, 1.0f, hw.input_bits));
  try {
    cuda::crossbar_kernel(l);
    ADD_FAILURE() << "read noise with 9-bit DAC codes was accepted";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("dac_bits"), std::string::npos) << e.what();
  }
  hw.dac_bits = 8;
  const MappedMatrix mm8 = map_naive(W.data(), 32, 4, hw);
  cuda::DeviceMatrix dm8 = cuda::upload_matrix(mm8);
  l.m = &dm8;
  EXPECT_EQ(cuda::crossbar_kernel(l), cuda::CrossbarKernel::warp);
}

// Read noise on tiles read in row chunks with read groups (signed 12-bit inputs on 512-row
// tiles): the partial sums and variances of two groups do not fit shared memory; refused
// with the keys to change.
TEST(CrossbarCudaKernel, ReadNoiseOnTallTilesWithReadGroupsIsRefused) {
  HardwareConfig hw;
  hw.read_noise = 0.05;
  hw.input_bits = 12;
  hw.rows = 512;
  const auto W = random_values(300 * 16, 8, -1.0f, 1.0f);
  const MappedMatrix mm = map_naive(W.data(), 300, 16, hw);
  cuda::DeviceMatrix dm = cuda::upload_matrix(mm);
  cuda::CrossbarLaunch l = dense_launch(dm, 300, 16, 4, quant::activation_quantizer(-1.0f, 1.0f, hw.input_bits));
  const std::string what = xbarmc::testing::thrown_message<Unsupported>([&] { cuda::crossbar_kernel(l); });
  EXPECT_NE(what.find("shared memory"), std::string::npos) << what;
  EXPECT_NE(what.find("input_bits"), std::string::npos) << what;
  EXPECT_NE(what.find("--backend cpu"), std::string::npos) << what;
}

// Iterative IR drop: the GPU's PCG (kernels/cuda/ir_pcg_kernel.hpp) against the CPU's on
// the same cells, instance by instance, solved in launches of at most 3 instances (a
// partial last one) and in one; and the iteration limit reported as on the CPU.
TEST(IterativeIrDrop, ChipsMatchTheHostSolver) {
  HardwareConfig hw;
  hw.ir_drop = IrDrop::iterative;
  hw.r_wire = 2.0;
  hw.r_driver = 5.0;
  hw.g_max = 1e-3;
  const auto W = random_values(100 * 12, 5, -1.0f, 1.0f);
  // 40 x 56: one system per row; 48 x 24: one per column; 40 and 24 are not multiples of 16.
  for (const auto& shape : {std::pair<int, int>{40, 56}, std::pair<int, int>{48, 24}}) {
    HardwareConfig h = hw;
    h.rows = shape.first;
    h.cols = shape.second;
    const MappedMatrix m2 = map_naive(W.data(), 100, 12, h);
    cuda::DeviceMatrix dm = cuda::upload_matrix(m2);
    const int trials = 3;
    const std::size_t n = dm.leff_per_chip() * trials;
    cuda::DeviceBuffer<__half> hi(n), lo(n), hi_ref(n), lo_ref(n);
    cuda::DeviceBuffer<unsigned long long> stuck(2 * trials), stuck_ref(2 * trials);
    XBARMC_CUDA_CHECK(cudaMemset(stuck_ref.data(), 0, stuck_ref.bytes()));
    cuda::instantiate_chips_on_host(m2, dm, 11, 4, trials, 3, hi_ref.data(), lo_ref.data(), stuck_ref.data(), nullptr);
    const auto ref_hi = hi_ref.to_host(), ref_lo = lo_ref.to_host();
    const auto ref_stuck = stuck_ref.to_host();
    for (const char* cap : {"3", "100000"}) {
      const xbarmc::testing::ScopedEnv chunk("XBARMC_CUDA_IR_INSTANCES", cap);
      XBARMC_CUDA_CHECK(cudaMemset(stuck.data(), 0, stuck.bytes()));
      XBARMC_CUDA_CHECK(cudaMemset(hi.data(), 0xff, hi.bytes()));  // NaN patterns: every level must be written
      cuda::instantiate_chips(dm, 11, 4, trials, 3, hi.data(), lo.data(), stuck.data(), nullptr);
      XBARMC_CUDA_CHECK(cudaDeviceSynchronize());
      const auto g_hi = hi.to_host(), g_lo = lo.to_host();
      EXPECT_EQ(stuck.to_host(), ref_stuck) << "stuck counts";
      double worst = 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        const double a = static_cast<double>(__half2float(g_hi[i])) + __half2float(g_lo[i]);
        const double b = static_cast<double>(__half2float(ref_hi[i])) + __half2float(ref_lo[i]);
        ASSERT_TRUE(std::isfinite(a)) << "level " << i << " not written";
        worst = std::max(worst, std::fabs(a - b) / std::max(1.0, std::fabs(b)));
      }
      std::printf("iterative IR drop %d x %d, %s instances per launch: levels within %.2g of the host solver's\n",
                  h.rows, h.cols, cap, worst);
      // Same PCG iterates up to the order of the dot products' terms: levels agree to float
      // rounding (2^-22 relative for the hi + lo parts).
      EXPECT_LE(worst, 1e-6);
    }
  }
}

TEST(IterativeIrDrop, TheIterationLimitIsAnErrorNamingTheTile) {
  HardwareConfig hw;
  hw.ir_drop = IrDrop::iterative;
  hw.rows = hw.cols = 32;
  hw.ir_tol = 1e-14;
  hw.ir_max_iter = 1;
  const auto W = random_values(40 * 4, 6, -1.0f, 1.0f);
  const MappedMatrix mm = map_naive(W.data(), 40, 4, hw);
  cuda::DeviceMatrix dm = cuda::upload_matrix(mm);
  cuda::DeviceBuffer<__half> hi(dm.leff_per_chip()), lo(dm.leff_per_chip());
  cuda::DeviceBuffer<unsigned long long> stuck(2);
  XBARMC_CUDA_CHECK(cudaMemset(stuck.data(), 0, stuck.bytes()));
  try {
    cuda::instantiate_chips(dm, 1, 7, 1, 2, hi.data(), lo.data(), stuck.data(), nullptr);
    ADD_FAILURE() << "a PCG stopped after 1 iteration was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("layer 2 tile 0 (trial 7)"), std::string::npos) << what;
    EXPECT_NE(what.find("ir_max_iter"), std::string::npos) << what;
  }
}
