// Chip instances whose IR drop needs a nodal solve. Iterative: the draws, the CPU's PCG
// (one thread block per right-hand side, kernels in ir_pcg_kernel.hpp) and the levels on
// the GPU. Exact, and the reference for the GPU tests: the CPU code on the host cores.
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "crossbar_common.cuh"
#include "crossbar_cuda.cuh"
#include "ir_pcg_kernel.hpp"
#include "xbarmc/cuda/check.cuh"
#include "xbarmc/cuda/device_buffer.cuh"
#include "xbarmc/errors.hpp"
#include "xbarmc/physics/chip.hpp"
#include "xbarmc/physics/ir_drop.hpp"

namespace xbarmc::cuda {

namespace {

__global__ void __launch_bounds__(ir::kThreads) ir_factor_kernel(ir::PcgParams p) { ir::factor_body(p); }

__global__ void __launch_bounds__(ir::kThreads, 6) ir_pcg_kernel(ir::PcgParams p) {
  __shared__ double red[ir::kWarps];
  ir::pcg_body(p, red);
}

// Effective levels of instances [first, first + count) from their transfer conductances
// (cells of the padded read region past the tile's edge keep level 0).
struct LevelParams {
  physics::CellModel cell;
  int rows, cols, rows_p, cols_p;
  std::int64_t first, count;
  const double* geff;  // [count][rows][cols]
  __half* hi;
  __half* lo;
};

__global__ void ir_levels_kernel(LevelParams p) {
  const std::int64_t per = static_cast<std::int64_t>(p.rows_p) * p.cols_p;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < p.count * per;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t inst = i / per, e = i - inst * per;
    const int r = static_cast<int>(e / p.cols_p), c = static_cast<int>(e % p.cols_p);
    if (r >= p.rows || c >= p.cols) continue;
    detail::store_level(p.cell, p.geff[(inst * p.rows + r) * p.cols + c], p.hi, p.lo, (p.first + inst) * per + e);
  }
}

}  // namespace

namespace detail {

void instantiate_iterative(const DeviceMatrix& m, std::uint64_t seed, std::uint32_t trial0, int trials,
                           std::uint32_t layer_id, __half* leff_hi, __half* leff_lo, unsigned long long* stuck,
                           cudaStream_t stream) {
  const HardwareConfig& hw = m.hw;
  if (!(hw.r_wire > 0.0)) {
    throw InvalidConfig(fmt::format("r_wire: the nodal IR-drop solvers need r_wire > 0 ohm, got {}", hw.r_wire));
  }
  const int R = hw.rows, C = hw.cols;
  ir::PcgParams p = ir::pcg_params(R, C, physics::Wires{hw.r_wire, hw.r_driver, hw.r_sense}, hw.ir_tol, hw.ir_max_iter);
  const int S = p.systems_per_instance;
  const std::int64_t rc = static_cast<std::int64_t>(R) * C;
  const std::int64_t total = static_cast<std::int64_t>(trials) * m.tiles;
  // Per instance: g, 4 line factors and Geff, and S systems of work space and stats.
  const double inst_bytes = 8.0 * static_cast<double>(rc) * (6.0 + ir::kWorkPerCell * static_cast<double>(S)) +
                            static_cast<double>(sizeof(ir::SystemStats)) * S;
  std::size_t free_b = 0, total_b = 0;
  XBARMC_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const double budget = std::min(0.5 * static_cast<double>(free_b), 4.0 * (1ull << 30));
  std::int64_t chunk = std::min<std::int64_t>(total, static_cast<std::int64_t>(budget / inst_bytes));
  // $XBARMC_CUDA_IR_INSTANCES caps the instances solved per launch (tests: results do not
  // depend on it).
  if (const char* e = std::getenv("XBARMC_CUDA_IR_INSTANCES")) {
    const long long cap = std::atoll(e);
    if (cap < 1) throw InvalidConfig(std::string("XBARMC_CUDA_IR_INSTANCES: '") + e + "' is not a positive count");
    chunk = std::min<std::int64_t>(chunk, cap);
  }
  if (chunk < 1) {
    throw Error(fmt::format(
        "ir_drop iterative: one {} x {} tile instance needs {:.0f} MiB of GPU work space and {:.0f} MiB of GPU memory "
        "are free; free GPU memory, use smaller tiles (rows, cols) or --backend cpu",
        R, C, inst_bytes / (1 << 20), static_cast<double>(free_b) / (1 << 20)));
  }
  DeviceBuffer<double> g(static_cast<std::size_t>(chunk * rc)), factors(static_cast<std::size_t>(4 * chunk * rc)),
      geff(static_cast<std::size_t>(chunk * rc)), work(static_cast<std::size_t>(ir::kWorkPerCell * chunk * S * rc));
  DeviceBuffer<ir::SystemStats> stats(static_cast<std::size_t>(chunk * S));
  std::vector<ir::SystemStats> h_stats(stats.size());

  p.g = g.data();
  p.factors = factors.data();
  p.work = work.data();
  p.geff = geff.data();
  p.stats = stats.data();
  LevelParams lp{m.cell, R, C, m.rows_p, m.cols_p, 0, 0, geff.data(), leff_hi, leff_lo};
  for (std::int64_t first = 0; first < total; first += chunk) {
    const std::int64_t count = std::min(chunk, total - first);
    sample_conductances(m, seed, trial0, layer_id, first, count, g.data(), stuck, stream);
    ir_factor_kernel<<<static_cast<int>(count), ir::kThreads, 0, stream>>>(p);
    XBARMC_CUDA_CHECK_LAUNCH();
    ir_pcg_kernel<<<static_cast<int>(count * S), ir::kThreads, 0, stream>>>(p);
    XBARMC_CUDA_CHECK_LAUNCH();
    lp.first = first;
    lp.count = count;
    const std::int64_t cells = count * m.rows_p * m.cols_p;
    const int grid = static_cast<int>(std::min<std::int64_t>((cells + 255) / 256, 32ll * multiprocessors()));
    ir_levels_kernel<<<std::max(grid, 1), 256, 0, stream>>>(lp);
    XBARMC_CUDA_CHECK_LAUNCH();
    stats.download(h_stats.data(), static_cast<std::size_t>(count * S), stream);
    XBARMC_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (std::int64_t i = 0; i < count; ++i) {
      bool ok = true;
      double worst = 0.0;
      for (int j = 0; j < S; ++j) {
        const ir::SystemStats& st = h_stats[static_cast<std::size_t>(i * S + j)];
        ok = ok && st.converged == 1;
        worst = std::max(worst, st.residual);
      }
      if (!ok) {
        const std::int64_t inst = first + i;
        throw Error(fmt::format("layer {} tile {} (trial {}): {}", layer_id, inst % m.tiles,
                                trial0 + static_cast<std::uint32_t>(inst / m.tiles),
                                physics::iterative_not_converged(worst, hw.ir_max_iter, hw.ir_tol)));
      }
    }
  }
}

}  // namespace detail

void instantiate_chips_on_host(const MappedMatrix& mm, const DeviceMatrix& dm, std::uint64_t seed, std::uint32_t trial0,
                               int trials, std::uint32_t layer, __half* d_hi, __half* d_lo, unsigned long long* d_stuck,
                               cudaStream_t stream) {
  const physics::CellModel cm = physics::cell_model(mm.hw);
  const std::int64_t per_chip = dm.leff_per_chip();
  // Cells of the read region past the tile's edge (rows_p/cols_p are padded to 16) read
  // as level 0.
  std::vector<__half> hi(static_cast<std::size_t>(per_chip * trials), __float2half_rn(0.0f)), lo(hi);
  std::vector<unsigned long long> stuck(static_cast<std::size_t>(2 * trials), 0);
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic) collapse(2)
  for (int t = 0; t < trials; ++t)
    for (int tile = 0; tile < dm.tiles; ++tile) {
      try {
        std::vector<double> g, geff;
        std::int64_t off = 0, on = 0;
        sample_tile_conductances(mm, tile, seed, trial0 + t, layer, g, off, on);
        tile_transfer(mm.hw, g, geff);
#pragma omp atomic
        stuck[2 * t] += static_cast<unsigned long long>(off);
#pragma omp atomic
        stuck[2 * t + 1] += static_cast<unsigned long long>(on);
        for (int r = 0; r < std::min(dm.rows_p, mm.hw.rows); ++r)
          for (int c = 0; c < std::min(dm.cols_p, mm.hw.cols); ++c) {
            detail::store_level(cm, geff[static_cast<std::size_t>(r) * mm.hw.cols + c], hi.data(), lo.data(),
                                ((static_cast<std::int64_t>(t) * dm.tiles + tile) * dm.rows_p + r) * dm.cols_p + c);
          }
      } catch (...) {
#pragma omp critical
        if (!error) error = std::current_exception();
      }
    }
  if (error) std::rethrow_exception(error);
  XBARMC_CUDA_CHECK(cudaMemcpyAsync(d_hi, hi.data(), hi.size() * sizeof(__half), cudaMemcpyHostToDevice, stream));
  XBARMC_CUDA_CHECK(cudaMemcpyAsync(d_lo, lo.data(), lo.size() * sizeof(__half), cudaMemcpyHostToDevice, stream));
  std::vector<unsigned long long> prev(stuck.size());
  XBARMC_CUDA_CHECK(
      cudaMemcpyAsync(prev.data(), d_stuck, prev.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost, stream));
  XBARMC_CUDA_CHECK(cudaStreamSynchronize(stream));
  for (std::size_t i = 0; i < stuck.size(); ++i) stuck[i] += prev[i];
  XBARMC_CUDA_CHECK(cudaMemcpyAsync(d_stuck, stuck.data(), stuck.size() * sizeof(unsigned long long),
                                    cudaMemcpyHostToDevice, stream));
  XBARMC_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace xbarmc::cuda
