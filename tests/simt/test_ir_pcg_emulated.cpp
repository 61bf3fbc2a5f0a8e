// The GPU's iterative IR-drop solver (kernels/cuda/ir_pcg_kernel.hpp) run on the CPU
// emulator of kernels/cuda/simt.hpp, against the CPU's solvers on the same tiles: the
// transfer conductances within the solver's own error bound of the exact elimination,
// the iteration counts of the CPU's PCG, the stop at ir_max_iter, and run-to-run
// identity. tests/cuda/test_crossbar_cuda.cu makes the same comparison on a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "../../kernels/cuda/ir_pcg_kernel.hpp"
#include "xbarmc/physics/ir_drop.hpp"
#include "xbarmc/rng/counter.hpp"
#include "xbarmc/rng/distributions.hpp"

using namespace xbarmc;
namespace ir = xbarmc::cuda::ir;

namespace {

struct Tile {
  int rows, cols;
  physics::Wires wires;
  double g_lo, g_hi;
  std::uint32_t stream;
};

std::vector<double> random_conductances(const Tile& t, int instance) {
  std::vector<double> g(static_cast<std::size_t>(t.rows) * t.cols);
  for (std::size_t i = 0; i < g.size(); ++i) {
    const rng::Block b = rng::draw_block(7, rng::Purpose::test, t.stream, static_cast<std::uint32_t>(instance), 0,
                                         static_cast<std::uint32_t>(i));
    g[i] = t.g_lo + (t.g_hi - t.g_lo) * rng::u01d(b.v[0], b.v[1]);
  }
  return g;
}

struct GpuResult {
  std::vector<double> geff;  // [instances][rows cols]
  std::vector<ir::SystemStats> stats;
};

// Both kernels on the emulator, as kernels/cuda/ir_drop_cuda.cu launches them.
GpuResult solve_emulated(const Tile& t, const std::vector<std::vector<double>>& g, double tol, int max_iter) {
  const int instances = static_cast<int>(g.size());
  const std::size_t rc = static_cast<std::size_t>(t.rows) * t.cols;
  ir::PcgParams p = ir::pcg_params(t.rows, t.cols, t.wires, tol, max_iter);
  const int systems = instances * p.systems_per_instance;
  std::vector<double> gs(rc * instances), factors(4 * rc * instances, std::nan("")),
      work(static_cast<std::size_t>(ir::kWorkPerCell) * rc * systems, std::nan(""));
  for (int i = 0; i < instances; ++i) std::copy(g[i].begin(), g[i].end(), gs.begin() + i * rc);
  GpuResult out;
  out.geff.assign(rc * instances, std::nan(""));
  out.stats.assign(static_cast<std::size_t>(systems), ir::SystemStats{-1, -1, -1.0});
  p.g = gs.data();
  p.factors = factors.data();
  p.work = work.data();
  p.geff = out.geff.data();
  p.stats = out.stats.data();
  simt::launch(instances, ir::kThreads, 0, [&](unsigned char*) { ir::factor_body(p); });
  simt::launch(systems, ir::kThreads, ir::kWarps * sizeof(double),
               [&](unsigned char* shared) { ir::pcg_body(p, reinterpret_cast<double*>(shared)); });
  return out;
}

void expect_matches_cpu(const Tile& t, int instances) {
  const double tol = 1e-9;
  std::vector<std::vector<double>> g;
  for (int i = 0; i < instances; ++i) g.push_back(random_conductances(t, i));
  const GpuResult gpu = solve_emulated(t, g, tol, 20000);
  const std::size_t rc = static_cast<std::size_t>(t.rows) * t.cols;
  const int S = std::min(t.rows, t.cols);
  for (int i = 0; i < instances; ++i) {
    std::vector<double> exact(rc), iter(rc);
    physics::transfer_exact(g[i].data(), t.rows, t.cols, t.wires, exact.data());
    const physics::IrStats cpu =
        physics::transfer_iterative(g[i].data(), t.rows, t.cols, t.wires, tol, 20000, iter.data());
    const double lambda = physics::nodal_min_eigenvalue(g[i].data(), t.rows, t.cols, t.wires);
    const double gsd = (1.0 / (t.wires.r_wire + t.wires.r_sense)) * (1.0 / (t.wires.r_driver + t.wires.r_wire));
    int most = 0;
    double worst = 0.0, peak = 0.0;
    for (int j = 0; j < S; ++j) {
      const ir::SystemStats& st = gpu.stats[static_cast<std::size_t>(i) * S + j];
      ASSERT_EQ(st.converged, 1) << "instance " << i << " system " << j;
      EXPECT_LE(st.residual, 2 * tol) << "instance " << i << " system " << j << " (true residual)";
      most = std::max(most, st.iterations);
      worst = std::max(worst, st.residual);
    }
    // The CPU's PCG on the same systems takes as many iterations (rounding can move a
    // system across its stopping test by one).
    EXPECT_NEAR(most, cpu.iterations, 1) << "instance " << i;
    for (double v : exact) peak = std::max(peak, std::fabs(v));
    // |dGeff| <= g_sense g_driver ||r|| / (||b|| lambda_min(A)) per system (docs/physics.md).
    const double bound = 1.01 * gsd * worst / lambda + 1e-12 * peak;
    double err_exact = 0.0, err_cpu = 0.0;
    for (std::size_t e = 0; e < rc; ++e) {
      ASSERT_TRUE(std::isfinite(gpu.geff[i * rc + e])) << "instance " << i << " cell " << e << " not written";
      err_exact = std::max(err_exact, std::fabs(gpu.geff[i * rc + e] - exact[e]));
      err_cpu = std::max(err_cpu, std::fabs(gpu.geff[i * rc + e] - iter[e]));
    }
    EXPECT_LE(err_exact, bound) << "instance " << i;
    // Same iterates as the CPU's PCG up to the rounding of the dot products' order.
    EXPECT_LE(err_cpu, 1e-11 * peak) << "instance " << i;
    std::printf(
        "%d x %d instance %d: %d iterations (CPU %d), residual %.2g, |Geff - exact| %.2g (bound %.2g), "
        "|Geff - CPU PCG| %.2g, of max %.2g S\n",
        t.rows, t.cols, i, most, cpu.iterations, worst, err_exact, bound, err_cpu, peak);
  }
}

}  // namespace

TEST(IrPcgEmulated, SystemsPerRowMatchTheCpuSolvers) {
  expect_matches_cpu(Tile{12, 20, {1.0, 0.0, 0.0}, 1e-6, 1e-3, 1}, 2);
}

TEST(IrPcgEmulated, SystemsPerColumnWithDriverAndSenseResistance) {
  expect_matches_cpu(Tile{24, 10, {2.0, 10.0, 5.0}, 1e-5, 5e-4, 2}, 2);
}

TEST(IrPcgEmulated, SquareTileWithStiffWires) { expect_matches_cpu(Tile{16, 16, {5.0, 0.0, 0.0}, 1e-6, 1e-3, 3}, 1); }

// More lines than threads: a block's threads own several rows (or columns) each.
TEST(IrPcgEmulated, LinesBeyondTheBlockSize) {
  expect_matches_cpu(Tile{3, 150, {1.0, 1.0, 0.0}, 1e-6, 1e-4, 4}, 1);
  expect_matches_cpu(Tile{140, 2, {0.5, 0.0, 2.0}, 1e-6, 1e-4, 5}, 1);
}

TEST(IrPcgEmulated, StopsAtTheIterationLimitAndSaysSo) {
  const Tile t{8, 12, {1.0, 0.0, 0.0}, 1e-6, 1e-3, 6};
  const GpuResult gpu = solve_emulated(t, {random_conductances(t, 0)}, 1e-14, 1);
  for (const ir::SystemStats& st : gpu.stats) {
    EXPECT_EQ(st.converged, 0);
    EXPECT_EQ(st.iterations, 1);
    EXPECT_GT(st.residual, 1e-14);
  }
}

TEST(IrPcgEmulated, RunsAreIdentical) {
  const Tile t{10, 14, {1.0, 0.0, 0.0}, 1e-6, 1e-3, 7};
  const std::vector<std::vector<double>> g = {random_conductances(t, 0), random_conductances(t, 1)};
  const GpuResult a = solve_emulated(t, g, 1e-9, 20000), b = solve_emulated(t, g, 1e-9, 20000);
  ASSERT_EQ(a.geff.size(), b.geff.size());
  EXPECT_EQ(std::memcmp(a.geff.data(), b.geff.data(), a.geff.size() * sizeof(double)), 0);
}
