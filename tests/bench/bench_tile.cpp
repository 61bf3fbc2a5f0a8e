// Benchmark of the crossbar tile physics (not a test): the crossbar read rate against
// OpenBLAS sgemm on the same shapes and cores, measured in the same run, and the cost
// of the IR-drop models per tile and per input vector.
//
//   xbarmc_bench_tile [--vectors N] [--repeats R] [--skip-ir]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <cblas.h>

#include "xbarmc/mapping/mapped_matrix.hpp"
#include "xbarmc/physics/crossbar.hpp"
#include "xbarmc/physics/ir_drop.hpp"

extern "C" void openblas_set_num_threads(int);

using namespace xbarmc;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double best_of(int repeats, const std::function<void()>& f) {
  double best = 1e300;
  for (int i = 0; i < repeats; ++i) {
    const double t0 = now();
    f();
    best = std::min(best, now() - t0);
  }
  return best;
}

struct Args {
  std::int64_t vectors = 4096;
  int repeats = 5;
  bool ir = true;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--vectors" && i + 1 < argc) {
      a.vectors = std::stoll(argv[++i]);
    } else if (s == "--repeats" && i + 1 < argc) {
      a.repeats = std::stoi(argv[++i]);
    } else if (s == "--skip-ir") {
      a.ir = false;
    } else {
      std::fprintf(stderr, "usage: xbarmc_bench_tile [--vectors N] [--repeats R] [--skip-ir]\n");
      std::exit(2);
    }
  }
  return a;
}

// The configuration: 128 x 128 tiles, 8-bit unsigned bit-serial inputs, 2-bit
// cells, 8-bit differential weights, 8-bit ADC, no IR drop (variation and faults at
// their defaults; they do not change the read cost).
void bench_mvm(const Args& a) {
  HardwareConfig hw;
  const std::int64_t K = 512, M = 64;  // 4 x 4 tiles of 128 x 128 cells, 16 outputs per tile
  const std::int64_t n = a.vectors;
  std::mt19937 gen(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> W(static_cast<std::size_t>(K * M)), X(static_cast<std::size_t>(n * K));
  for (auto& w : W) w = nd(gen);
  for (auto& x : X) x = std::max(0.0f, nd(gen));  // post-ReLU: about half zero
  const MappedMatrix m = map_naive(W.data(), K, M, hw);
  const quant::Quantizer xq = quant::activation_quantizer(0.0f, 3.0f, hw.input_bits);
  ChipMatrix chip;
  const double t_inst = best_of(2, [&] { instantiate(m, 1, 0, 0, chip); });
  const double tiles = static_cast<double>(m.tiles.size());
  const double reads = hw.input_bits;  // bit-serial unsigned: one read per bit
  const double cell_macs = static_cast<double>(n) * tiles * reads * hw.rows * hw.cols;

  std::vector<float> Y(static_cast<std::size_t>(n * M));
  CrossbarWorkspace ws0, ws1;
  auto xbar1 = [&] { crossbar_matmul(m, chip, xq, X.data(), n, Y.data(), ws0); };
  auto xbar2 = [&] {
    const std::int64_t h = n / 2;
    std::thread t([&] { crossbar_matmul(m, chip, xq, X.data(), h, Y.data(), ws0, 0, 0, 0, 0); });
    crossbar_matmul(m, chip, xq, X.data() + h * K, n - h, Y.data() + h * M, ws1, 0, 0, 0, h);
    t.join();
  };
  // sgemm on the same shapes: the bit-serial input matrix (reads * n) x K of 0/1 times
  // the physical conductance matrix K x (M * 8 columns).
  const int mm = static_cast<int>(reads * n), kk = static_cast<int>(K), nn = static_cast<int>(M * 8);
  std::vector<float> A(static_cast<std::size_t>(mm) * kk), B(static_cast<std::size_t>(kk) * nn),
      C(static_cast<std::size_t>(mm) * nn);
  for (auto& x : A) x = static_cast<float>(gen() & 1u);
  for (auto& x : B) x = static_cast<float>(gen() % 4u);
  auto sgemm = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mm, nn, kk, 1.0f, A.data(), kk, B.data(), nn, 0.0f, C.data(),
                nn);
  };
  const double sgemm_macs = static_cast<double>(mm) * kk * nn;
  // Interleave the measurements so that a load change on the machine hits both.
  double t_x2 = 1e300, t_x1 = 1e300, t_s2 = 1e300, t_s1 = 1e300;
  xbar2();
  openblas_set_num_threads(2);
  sgemm();
  for (int r = 0; r < a.repeats; ++r) {
    t_x2 = std::min(t_x2, best_of(1, xbar2));
    openblas_set_num_threads(2);
    t_s2 = std::min(t_s2, best_of(1, sgemm));
    t_x1 = std::min(t_x1, best_of(1, xbar1));
    openblas_set_num_threads(1);
    t_s1 = std::min(t_s1, best_of(1, sgemm));
  }
  std::printf("== crossbar read: %lld vectors, %g tiles of %d x %d, %g reads per vector ==\n",
              static_cast<long long>(n), tiles, hw.rows, hw.cols, reads);
  std::printf("chip instance: %.2f ms per tile (%.1f ms for %g tiles)\n", t_inst / tiles * 1e3, t_inst * 1e3, tiles);
  std::printf("2 threads: crossbar %.3g cell-MAC/s (%.1f ms), sgemm %.3g MAC/s (%.1f ms), ratio %.2f\n",
              cell_macs / t_x2, t_x2 * 1e3, sgemm_macs / t_s2, t_s2 * 1e3, (cell_macs / t_x2) / (sgemm_macs / t_s2));
  std::printf("1 thread:  crossbar %.3g cell-MAC/s (%.1f ms), sgemm %.3g MAC/s (%.1f ms), ratio %.2f\n",
              cell_macs / t_x1, t_x1 * 1e3, sgemm_macs / t_s1, t_s1 * 1e3, (cell_macs / t_x1) / (sgemm_macs / t_s1));
}

// IR drop: per tile and chip instance (sampling, transfer conductances, tables), then
// 64 input vectors through the crossbar read; the per-vector cost includes the solve.
void bench_ir(const Args& a, IrDrop mode, int size, double g_max) {
  HardwareConfig hw;
  hw.rows = hw.cols = size;
  hw.ir_drop = mode;
  hw.r_wire = 1.0;
  hw.g_max = g_max;
  const std::int64_t K = size, M = size / hw.phys_cols_per_logical(), n = 64;
  std::mt19937 gen(2);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> W(static_cast<std::size_t>(K * M)), X(static_cast<std::size_t>(n * K)),
      Y(static_cast<std::size_t>(n * M));
  for (auto& w : W) w = nd(gen);
  for (auto& x : X) x = std::max(0.0f, nd(gen));
  const MappedMatrix m = map_naive(W.data(), K, M, hw);
  const quant::Quantizer xq = quant::activation_quantizer(0.0f, 3.0f, hw.input_bits);
  ChipMatrix chip;
  CrossbarWorkspace ws;
  const int reps = size >= 256 ? 1 : std::max(1, a.repeats / 2);
  const double t_inst = best_of(reps, [&] { instantiate(m, 1, 0, 0, chip); });
  const double t_read = best_of(reps, [&] { crossbar_matmul(m, chip, xq, X.data(), n, Y.data(), ws); });
  std::printf("%-9s %3d x %-3d g_max %.0e S: instance %8.2f ms, 64 vectors %6.2f ms, per vector %7.3f ms",
              to_string(mode).c_str(), size, size, g_max, t_inst * 1e3, t_read * 1e3, (t_inst + t_read) / n * 1e3);
  if (mode == IrDrop::iterative) {
    std::printf(" (%d systems, %d iterations, residual %.2e)", chip.tiles[0].ir.systems, chip.tiles[0].ir.iterations,
                chip.tiles[0].ir.residual);
  }
  std::printf("\n");
}

void bench_direct(int size) {
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> u(1e-6, 1e-3);
  std::vector<double> g(static_cast<std::size_t>(size) * size), v(static_cast<std::size_t>(size), 0.2),
      i(static_cast<std::size_t>(size));
  for (auto& x : g) x = u(gen);
  const double t =
      best_of(1, [&] { physics::currents_direct(g.data(), size, size, physics::Wires{}, v.data(), i.data()); });
  std::printf("direct sparse Cholesky, one vector, %d x %d: %.1f ms\n", size, size, t * 1e3);
}

// How far the static model and ideal wires are from the exact solution on one random
// tile (levels uniform, 1-bit inputs uniform): the largest relative column-current error.
void model_errors(int size, double g_max) {
  std::mt19937 gen(4);
  const double dg = (g_max - 1e-6) / 3;
  std::vector<double> g(static_cast<std::size_t>(size) * size), v(static_cast<std::size_t>(size));
  for (auto& x : g) x = 1e-6 + dg * static_cast<double>(gen() % 4u);
  for (auto& x : v) x = 0.2 * static_cast<double>(gen() % 2u);
  std::vector<double> ge(g.size()), gs(g.size()), ie(size), is(size), i0(size);
  const physics::Wires w{};
  physics::transfer_exact(g.data(), size, size, w, ge.data());
  physics::transfer_static(g.data(), size, size, w, gs.data());
  physics::currents_from_transfer(ge.data(), size, size, v.data(), ie.data());
  physics::currents_from_transfer(gs.data(), size, size, v.data(), is.data());
  physics::currents_from_transfer(g.data(), size, size, v.data(), i0.data());
  double es = 0, e0 = 0;
  for (int c = 0; c < size; ++c) {
    es = std::max(es, std::fabs(is[c] - ie[c]) / ie[c]);
    e0 = std::max(e0, std::fabs(i0[c] - ie[c]) / ie[c]);
  }
  std::printf("%3d x %-3d g_max %.0e S, r_wire 1 ohm: static model error up to %.3g %%, no-wire model %.3g %%\n", size,
              size, g_max, 100 * es, 100 * e0);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  std::printf("xbarmc_bench_tile: %u hardware threads\n", std::thread::hardware_concurrency());
  bench_mvm(a);
  if (!a.ir) return 0;
  std::printf("== IR drop, r_wire 1 ohm, 64 input vectors (8-bit, bit-serial) ==\n");
  for (int size : {64, 128, 256}) bench_ir(a, IrDrop::exact, size, 1e-3);
  for (int size : {64, 128}) bench_ir(a, IrDrop::iterative, size, 1e-3);
  bench_ir(a, IrDrop::static_resistance, 128, 1e-3);
  bench_ir(a, IrDrop::none, 128, 1e-3);
  for (int size : {64, 128}) bench_direct(size);
  std::printf("== model error against the exact solution ==\n");
  for (double g_max : {1e-4, 1e-3}) model_errors(128, g_max);
  return 0;
}
