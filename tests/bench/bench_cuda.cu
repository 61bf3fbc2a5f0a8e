// GPU benchmark (issue #6): trial-images/s of each bundled model at default hardware on
// the CUDA backend and the CPU backend of the same machine; the crossbar stage's cell-MAC
// rate against cuBLAS GEMMs of the same shapes (FP32 and FP16 tensor cores), measured in
// this run; chip instantiation against the device-to-device copy bandwidth; iterative IR
// drop instances on the GPU against the host solver on all cores.
//   xbarmc_bench_cuda [SOURCE_DIR] [DATA_DIR]
#include <cublas_v2.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../../kernels/cuda/crossbar_common.cuh"
#include "../../kernels/cuda/crossbar_cuda.cuh"
#include "../common/scoped_env.hpp"
#include "xbarmc/backend.hpp"
#include "xbarmc/config/settings.hpp"
#include "xbarmc/cuda/check.cuh"
#include "xbarmc/cuda/device_buffer.cuh"
#include "xbarmc/mapping/mapped_matrix.hpp"
#include "xbarmc/montecarlo/run_keys.hpp"
#include "xbarmc/montecarlo/study.hpp"
#include "xbarmc/montecarlo/trials.hpp"

using namespace xbarmc;
using clk = std::chrono::steady_clock;

namespace {

double seconds_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

struct Timer {
  cudaEvent_t a, b;
  Timer() {
    XBARMC_CUDA_CHECK(cudaEventCreate(&a));
    XBARMC_CUDA_CHECK(cudaEventCreate(&b));
  }
  ~Timer() {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
  template <typename F>
  double median_ms(F&& f, int reps) {
    std::vector<float> t;
    f();  // warm-up
    for (int i = 0; i < reps; ++i) {
      XBARMC_CUDA_CHECK(cudaEventRecord(a));
      f();
      XBARMC_CUDA_CHECK(cudaEventRecord(b));
      XBARMC_CUDA_CHECK(cudaEventSynchronize(b));
      float ms = 0;
      XBARMC_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
      t.push_back(ms);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  }
};

// GPU trial-images/s of a study with one crossbar kernel: a warm-up of `warm` trials
// (uploads; with warm == trials also the plan of the timed batch size), then `trials`
// trials timed.
double gpu_rate(const montecarlo::Study& study, std::uint32_t trials, std::uint32_t warm, const char* kernel) {
  const xbarmc::testing::ScopedEnv env("XBARMC_CUDA_KERNEL", kernel);
  auto gpu = cuda::make_backend(0);
  montecarlo::RunControl c;
  std::vector<montecarlo::TrialRecord> out;
  gpu->run_trials(study, 0, warm, c, out);
  out.clear();
  const auto t0 = clk::now();
  gpu->run_trials(study, 0, trials, c, out);
  return trials * static_cast<double>(study.image_count()) / seconds_since(t0);
}

void model_rates(const std::string& src, const std::string& data) {
  std::printf("\n%-10s %7s %7s %16s %16s %16s %16s %9s\n", "model", "images", "trials", "GPU block kernel",
              "GPU warp kernel", "warp, batched", "CPU trial-img/s", "speedup");
  for (const char* name : {"lenet5", "vgg", "resnet20", "vit"}) {
    const std::string path = src + "/experiments/models/" + name + ".onnx";
    if (FILE* f = std::fopen(path.c_str(), "rb")) {
      std::fclose(f);
    } else {
      std::printf("%-10s (not found)\n", name);
      continue;
    }
    static const config::Schema schema = montecarlo::run_schema();
    config::Settings s(schema);
    s.set("model", path, "bench");
    s.set("data", data, "bench");
    s.set("images", "1000", "bench");
    s.set("calib_images", "64", "bench");
    montecarlo::Study study(s, {{"base", {}, "bench"}}, 0, false);
    // LeNet-5 (the 1e6 trial-images/s target): steady state, warmed up with the timed
    // batch itself (about a second); the deeper models: a 4-trial warm-up.
    const bool lenet = std::string(name) == "lenet5";
    const std::uint32_t gpu_trials = lenet ? 256 : 32, warm = lenet ? gpu_trials : 4;
    const double rb = gpu_rate(study, gpu_trials, warm, "block");
    const double rw = gpu_rate(study, gpu_trials, warm, "warp");
    double rbat = 0.0;  // the warp kernel with its batched body (XBARMC_CUDA_BATCH=on), opt-in until timed
    {
      const xbarmc::testing::ScopedEnv batch("XBARMC_CUDA_BATCH", "on");
      rbat = gpu_rate(study, gpu_trials, warm, "warp");
    }
    if (lenet) {
      {  // the batched body reading every phase of conv1's vectors, those whose codes are all 0 too
        const xbarmc::testing::ScopedEnv batch("XBARMC_CUDA_BATCH", "on");
        const xbarmc::testing::ScopedEnv all("XBARMC_CUDA_SKIP_ZERO", "off");
        const double r_all = gpu_rate(study, gpu_trials, warm, "warp");
        std::printf(
            "%-10s batched body skipping zero phases (XBARMC_CUDA_SKIP_ZERO=on, the default): %.0f trial-img/s, "
            "reading every phase: %.0f, skip / every %.3f\n",
            name, rbat, r_all, rbat / r_all);
      }
      {
        const xbarmc::testing::ScopedEnv staged("XBARMC_CUDA_SHIFT_ADD", "staged");
        std::printf("%-10s warp kernel with the staged shift-add: %.0f trial-img/s (registers: %.0f)\n", name,
                    gpu_rate(study, gpu_trials, warm, "warp"), rw);
      }
      // conv1 (25 rows) on the short variant at 4 blocks per SM (the default), 3, or the
      // narrow variant at 2 (which read conv1 on 2026-11-27).
      double r_short[2];
      for (int i = 0; i < 2; ++i) {
        const xbarmc::testing::ScopedEnv short_tiles("XBARMC_CUDA_SHORT", i == 0 ? "3" : "narrow");
        r_short[i] = gpu_rate(study, gpu_trials, warm, "warp");
      }
      std::printf(
          "%-10s warp kernel, tiles of <= 32 rows: short variant 4 blocks/SM %.0f, 3 blocks/SM %.0f, narrow variant "
          "%.0f trial-img/s\n",
          name, rw, r_short[0], r_short[1]);
      const xbarmc::testing::ScopedEnv ref2("XBARMC_CUDA_REF", "2");
      std::printf("%-10s warp kernel, the float reference's kernel at 2 blocks/SM: %.0f trial-img/s (at 4: %.0f)\n",
                  name, gpu_rate(study, gpu_trials, warm, "warp"), rw);
    }
    // The CPU backend on all host cores: 2 timed trials of the deeper models (seconds
    // each); LeNet-5's 2 trials took 0.3 s and moved by 1.7x between runs (2026-11-27), so
    // it gets a warm-up trial and 16 timed ones (about 2 s on 16 cores).
    auto cpu = make_cpu_backend(0);
    montecarlo::RunControl c;
    std::vector<montecarlo::TrialRecord> out;
    const std::uint32_t cpu_trials = lenet ? 16 : 2;
    if (lenet) cpu->run_trials(study, 0, 1, c, out);
    out.clear();
    const auto t0 = clk::now();
    cpu->run_trials(study, 0, cpu_trials, c, out);
    const double rc = cpu_trials * static_cast<double>(study.image_count()) / seconds_since(t0);
    std::printf("%-10s %7lld %7u %16.0f %16.0f %16.0f %16.0f %8.1fx\n", name,
                static_cast<long long>(study.image_count()), gpu_trials, rb, rw, rbat, rc, std::max(rb, rw) / rc);
    std::printf(
        "%-10s warp kernel with the batched body (XBARMC_CUDA_BATCH=on): %.0f trial-img/s, batched / default "
        "%.3f\n",
        name, rbat, rbat / rw);
  }
}

void crossbar_vs_gemm() {
  // A dense 1024 x 128 layer at default hardware: 8 row tiles x 8 column tiles of 128 x 128,
  // 8-bit unsigned bit-serial inputs (8 reads), 2-bit cells, differential (8 columns per weight).
  HardwareConfig hw;
  const std::int64_t K = 1024, M = 128, n = 4096;
  const int trials = 8;
  std::vector<float> W(K * M), X(trials * n * K);
  for (std::size_t i = 0; i < W.size(); ++i) W[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
  for (std::size_t i = 0; i < X.size(); ++i) X[i] = static_cast<float>((i * 40503u) % 1000) / 1000.0f;
  const MappedMatrix mm = map_naive(W.data(), K, M, hw);
  cuda::DeviceMatrix dm = cuda::upload_matrix(mm);
  cuda::DeviceBuffer<__half> hi(dm.leff_per_chip() * trials), lo(dm.leff_per_chip() * trials);
  cuda::DeviceBuffer<unsigned long long> stuck(2 * trials);
  auto d_x = cuda::DeviceBuffer<float>::from_host(X);
  auto d_w = cuda::DeviceBuffer<float>::from_host(W);
  cuda::DeviceBuffer<float> d_y(trials * n * M);
  cuda::DeviceBuffer<double> d_err(2 * trials);
  Timer timer;
  const double inst_ms = timer.median_ms(
      [&] { cuda::instantiate_chips(dm, 1, 0, trials, 0, hi.data(), lo.data(), stuck.data(), nullptr); }, 5);
  cuda::CrossbarLaunch l;
  l.m = &dm;
  l.geo.K = K;
  l.geo.M = M;
  l.xq = quant::activation_quantizer(0.0f, 1.0f, hw.input_bits);
  l.leff_hi = hi.data();
  l.leff_lo = lo.data();
  l.trials = trials;
  l.samples_per_trial = n;
  l.in = d_x.data();
  l.out = d_y.data();
  l.weights = d_w.data();
  l.errors = d_err.data();
  cuda::DeviceBuffer<double> scratch(2 * cuda::crossbar_items(l));
  l.scratch = scratch.data();
  l.kernel = cuda::CrossbarKernel::block;
  l.threads = 512;
  const double xb512_ms = timer.median_ms([&] { cuda::crossbar_layer(l, nullptr); }, 5);
  const auto y_block = d_y.to_host();
  l.threads = 256;
  const double xb256_ms = timer.median_ms([&] { cuda::crossbar_layer(l, nullptr); }, 5);
  l.kernel = cuda::CrossbarKernel::warp;
  cuda::DeviceBuffer<double> scratch_w(2 * cuda::crossbar_items(l));
  l.scratch = scratch_w.data();
  const double xbw_ms = timer.median_ms([&] { cuda::crossbar_layer(l, nullptr); }, 5);
  const auto y_warp = d_y.to_host();
  std::size_t differ = 0;
  for (std::size_t i = 0; i < y_block.size(); ++i) differ += y_block[i] != y_warp[i];
  // The warp kernel with environment variable `var` set to `value`: its time, and its
  // outputs whose bits differ from the default's.
  const auto warp_with = [&](const char* var, const char* value, double& ms, std::size_t& differ_bits) {
    const xbarmc::testing::ScopedEnv env(var, value);
    ms = timer.median_ms([&] { cuda::crossbar_layer(l, nullptr); }, 5);
    const auto y = d_y.to_host();
    differ_bits = 0;
    for (std::size_t i = 0; i < y_warp.size(); ++i) differ_bits += std::memcmp(&y_warp[i], &y[i], sizeof(float)) != 0;
  };
  double xbw_staged_ms = 0.0;  // the warp kernel with its shift-add staged in shared memory
  std::size_t differ_staged = 0;
  warp_with("XBARMC_CUDA_SHIFT_ADD", "staged", xbw_staged_ms, differ_staged);
  double xbw_batch_ms = 0.0;  // the warp kernel's batched body (XBARMC_CUDA_BATCH=on), where it applies
  std::size_t differ_batch = 0;
  warp_with("XBARMC_CUDA_BATCH", "on", xbw_batch_ms, differ_batch);
  const bool batch_runs = cuda::detail::warp_batch_body_applies(l);
  // The float reference of the error sums, which every kernel's time above includes.
  const double ref_ms = timer.median_ms([&] { cuda::crossbar_reference(l, nullptr); }, 5);
  double ref2_ms = 0.0;  // its kernel compiled for ptxas's choice of registers (XBARMC_CUDA_REF=2)
  {
    const xbarmc::testing::ScopedEnv ref2("XBARMC_CUDA_REF", "2");
    ref2_ms = timer.median_ms([&] { cuda::crossbar_reference(l, nullptr); }, 5);
  }
  const double xb_ms = std::min({xb512_ms, xb256_ms, xbw_ms});
  const double reads = 8, cell_macs = trials * n * reads * static_cast<double>(K) * (M * 8);

  // The same products as GEMMs: (trials * n * reads) x K times K x (M * 8).
  const int gm = static_cast<int>(trials * n * reads), gk = static_cast<int>(K), gn = static_cast<int>(M * 8);
  cublasHandle_t h;
  XBARMC_CUDA_CHECK(cublasCreate(&h));
  cuda::DeviceBuffer<float> A(static_cast<std::size_t>(gm) * gk), B(static_cast<std::size_t>(gk) * gn),
      C(static_cast<std::size_t>(gm) * gn);
  cuda::DeviceBuffer<__half> Ah(A.size()), Bh(B.size());
  XBARMC_CUDA_CHECK(cudaMemset(A.data(), 0x3c, A.bytes()));
  XBARMC_CUDA_CHECK(cudaMemset(B.data(), 0x3c, B.bytes()));
  XBARMC_CUDA_CHECK(cudaMemset(Ah.data(), 0x3c, Ah.bytes()));
  XBARMC_CUDA_CHECK(cudaMemset(Bh.data(), 0x3c, Bh.bytes()));
  const float one = 1.0f, zero = 0.0f;
  const double sgemm_ms = timer.median_ms(
      [&] {
        XBARMC_CUDA_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, gn, gm, gk, &one, B.data(), gn, A.data(), gk, &zero,
                                      C.data(), gn));
      },
      5);
  const double hgemm_ms = timer.median_ms(
      [&] {
        XBARMC_CUDA_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, gn, gm, gk, &one, Bh.data(), CUDA_R_16F, gn,
                                       Ah.data(), CUDA_R_16F, gk, &zero, C.data(), CUDA_R_32F, gn, CUBLAS_COMPUTE_32F,
                                       CUBLAS_GEMM_DEFAULT));
      },
      5);
  cublasDestroy(h);
  const double xb_rate = cell_macs / (xb_ms * 1e-3), s_rate = cell_macs / (sgemm_ms * 1e-3),
               h_rate = cell_macs / (hgemm_ms * 1e-3);
  std::printf("\ncrossbar stage, dense 1024x128 layer, %d trials x %lld vectors, 8 reads, 64 tiles:\n", trials,
              static_cast<long long>(n));
  const auto rate = [&](double ms) { return cell_macs / (ms * 1e-3) / 1e12; };
  std::printf("  block kernel, 512 threads %8.3f ms  %8.2f T cell-MAC/s\n", xb512_ms, rate(xb512_ms));
  std::printf("  block kernel, 256 threads %8.3f ms  %8.2f T cell-MAC/s\n", xb256_ms, rate(xb256_ms));
  std::printf(
      "  warp kernel               %8.3f ms  %8.2f T cell-MAC/s  (%zu of %zu outputs differ from the block "
      "kernel's)\n",
      xbw_ms, rate(xbw_ms), differ, y_block.size());
  std::printf(
      "  warp kernel, staged shift-add %8.3f ms  %8.2f T cell-MAC/s  (%zu outputs differ from the registers')\n",
      xbw_staged_ms, rate(xbw_staged_ms), differ_staged);
  std::printf(
      "  warp kernel, batched body  %8.3f ms  %8.2f T cell-MAC/s  (%s; %zu outputs differ from the default's; "
      "batched / SGEMM below)\n",
      xbw_batch_ms, rate(xbw_batch_ms), batch_runs ? "it runs this layer" : "it does not apply: the default ran",
      differ_batch);
  std::printf(
      "  each includes the float reference of the error sums: %.3f ms alone (its kernel at 2 blocks per SM: %.3f "
      "ms)\n",
      ref_ms, ref2_ms);
  std::printf("  fastest: %.3f ms, %.2f T cell-MAC/s\n", xb_ms, xb_rate / 1e12);
  std::printf("  cuBLAS SGEMM      %8.3f ms  %8.2f T MAC/s   crossbar / SGEMM = %.2f (batched body / SGEMM = %.2f)\n",
              sgemm_ms, s_rate / 1e12, xb_rate / s_rate, sgemm_ms / xbw_batch_ms);
  std::printf(
      "  cuBLAS FP16 GEMM  %8.3f ms  %8.2f T MAC/s   crossbar / FP16 GEMM = %.2f (the crossbar does two FP16 "
      "products per read: hi + lo)\n",
      hgemm_ms, h_rate / 1e12, xb_rate / h_rate);

  // Instantiation: 2 x 2-byte writes per read cell, and the copy ceiling.
  cuda::DeviceBuffer<char> c1(1u << 30), c2(1u << 30);
  const double copy_ms = timer.median_ms(
      [&] { XBARMC_CUDA_CHECK(cudaMemcpy(c2.data(), c1.data(), c1.bytes(), cudaMemcpyDeviceToDevice)); }, 5);
  const double copy_bw = 2.0 * c1.bytes() / (copy_ms * 1e-3);
  const double cells = static_cast<double>(dm.cells_per_chip()) * trials;
  const double inst_bw = 4.0 * static_cast<double>(dm.leff_per_chip()) * trials / (inst_ms * 1e-3);
  std::printf(
      "\nchip instances: %.0f cells in %.3f ms = %.2f G cells/s (Philox + normal + fault per cell), %.0f GB/s "
      "written; device copy ceiling %.0f GB/s (read + write)\n",
      cells, inst_ms, cells / (inst_ms * 1e-3) / 1e9, inst_bw / 1e9, copy_bw / 1e9);
  const double xb_bytes =
      4.0 * trials * n * K * dm.n_col_tiles + 4.0 * trials * n * M + 4.0 * dm.leff_per_chip() * trials;
  std::printf("crossbar stage memory traffic (inputs per column tile + outputs + chips): %.0f GB/s of %.0f GB/s\n",
              xb_bytes / (xb_ms * 1e-3) / 1e9, copy_bw / 1e9);
}

// Iterative IR drop: 128 x 128 tile instances per second with the nodal PCG on the GPU
// (instantiate_chips) and with the CPU's solver on all host cores (instantiate_chips_on_host,
// the CPU backend's code), the same instances.
void iterative_ir_instances() {
  HardwareConfig hw;
  hw.ir_drop = IrDrop::iterative;
  hw.r_wire = 1.0;
  std::vector<float> w(512 * 64);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
  const MappedMatrix mm = map_naive(w.data(), 512, 64, hw);
  const cuda::DeviceMatrix dm = cuda::upload_matrix(mm);
  const int trials = 8;
  const double instances = static_cast<double>(trials) * dm.tiles;
  cuda::DeviceBuffer<__half> hi(dm.leff_per_chip() * trials), lo(dm.leff_per_chip() * trials);
  cuda::DeviceBuffer<unsigned long long> stuck(2 * trials);
  Timer timer;
  const double gpu_ms = timer.median_ms(
      [&] { cuda::instantiate_chips(dm, 1, 0, trials, 0, hi.data(), lo.data(), stuck.data(), nullptr); }, 3);
  auto t0 = clk::now();
  cuda::instantiate_chips_on_host(mm, dm, 1, 0, trials, 0, hi.data(), lo.data(), stuck.data(), nullptr);
  const double cpu_ms = 1e3 * seconds_since(t0);
  // The exact elimination on the host cores (the GPU path of ir_drop = exact), same cells.
  HardwareConfig hx = hw;
  hx.ir_drop = IrDrop::exact;
  const MappedMatrix mx = map_naive(w.data(), 512, 64, hx);
  const cuda::DeviceMatrix dx = cuda::upload_matrix(mx);
  t0 = clk::now();
  cuda::instantiate_chips_on_host(mx, dx, 1, 0, trials, 0, hi.data(), lo.data(), stuck.data(), nullptr);
  const double exact_ms = 1e3 * seconds_since(t0);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  std::printf(
      "\niterative IR drop, %d x %d tiles (r_wire %.1f ohm): %.0f instances in %.1f ms on the GPU = %.0f "
      "instances/s; host solver on %d cores %.1f ms = %.1f instances/s; GPU / CPU = %.1fx\n",
      hw.rows, hw.cols, hw.r_wire, instances, gpu_ms, instances / (gpu_ms * 1e-3), cores, cpu_ms,
      instances / (cpu_ms * 1e-3), cpu_ms / gpu_ms);
  std::printf(
      "exact IR drop (host elimination on %d cores, the GPU path of ir_drop = exact): %.1f ms = %.1f "
      "instances/s; GPU iterative / host exact = %.1fx\n",
      cores, exact_ms, instances / (exact_ms * 1e-3), exact_ms / gpu_ms);
}

}  // namespace

int main(int argc, char** argv) {
  if (cuda::device_count() == 0) {
    std::printf("no CUDA device: nothing to measure\n");
    return 77;
  }
  const std::string src = argc > 1 ? argv[1] : XBARMC_SOURCE_DIR;
  const std::string data = argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist";
  const auto gpus = cuda::devices();
  std::printf("device: %s, %d SMs, %.0f GiB\n", gpus[0].name.c_str(), gpus[0].multiprocessors,
              gpus[0].total_bytes / 1073741824.0);
  try {
    crossbar_vs_gemm();
    iterative_ir_instances();
    model_rates(src, data);
  } catch (const std::exception& e) {
    std::printf("bench failed: %s\n", e.what());
    return 1;
  }
  return 0;
}
