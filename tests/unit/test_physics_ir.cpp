// The IR-drop solvers against each other on random tiles of several sizes (non-square
// too) and wire resistances. Tolerances come from the condition number of the nodal
// matrix (exact methods) and from the residual the iterative solver reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "xbarmc/errors.hpp"
#include "xbarmc/mapping/mapped_matrix.hpp"
#include "xbarmc/physics/chip.hpp"
#include "xbarmc/physics/ir_drop.hpp"

using namespace xbarmc;
using namespace xbarmc::physics;

namespace {

struct Tile {
  int rows, cols;
  Wires w;
  std::vector<double> g, v;
};

Tile random_tile(int rows, int cols, Wires w, double g_max, std::mt19937& gen) {
  std::uniform_real_distribution<double> ug(1e-6, g_max), uv(0.0, 0.2);
  Tile t{rows, cols, w, std::vector<double>(static_cast<std::size_t>(rows) * cols), std::vector<double>(rows)};
  for (auto& x : t.g) x = ug(gen);
  for (auto& x : t.v) x = uv(gen);
  return t;
}

// Gershgorin bound on the largest eigenvalue of the nodal matrix (S).
double lambda_max_bound(const Tile& t) {
  const double gw = 1 / t.w.r_wire, gd = 1 / (t.w.r_driver + t.w.r_wire), gs = 1 / (t.w.r_wire + t.w.r_sense);
  const double gmax = *std::max_element(t.g.begin(), t.g.end());
  return 2 * (2 * gw + std::max(gd, gs) + gmax);
}

}  // namespace

TEST(PhysicsIr, ExactTransferEqualsDirectSolve) {
  std::mt19937 gen(11);
  const struct {
    int rows, cols;
    Wires w;
    double g_max;
  } cases[] = {{1, 1, {1, 0, 0}, 1e-3},     {7, 13, {1, 0, 0}, 1e-3},  {16, 5, {2.5, 10, 3}, 1e-4},
               {33, 20, {0.5, 0, 7}, 1e-3}, {24, 24, {5, 1, 1}, 1e-3}, {3, 40, {1, 0, 0}, 1e-3}};
  for (const auto& cs : cases) {
    SCOPED_TRACE(std::to_string(cs.rows) + " x " + std::to_string(cs.cols));
    const Tile t = random_tile(cs.rows, cs.cols, cs.w, cs.g_max, gen);
    std::vector<double> geff(t.g.size()), via(cs.cols), direct(cs.cols);
    transfer_exact(t.g.data(), t.rows, t.cols, t.w, geff.data());
    currents_from_transfer(geff.data(), t.rows, t.cols, t.v.data(), via.data());
    currents_direct(t.g.data(), t.rows, t.cols, t.w, t.v.data(), direct.data());
    // Two backward-stable double solves of one system: each within c kappa eps of the truth.
    const double kappa = lambda_max_bound(t) / nodal_min_eigenvalue(t.g.data(), t.rows, t.cols, t.w);
    const double imax = *std::max_element(direct.begin(), direct.end());
    const double tol = 2 * 64 * kappa * 0x1p-53 * imax;
    for (int c = 0; c < cs.cols; ++c) EXPECT_NEAR(via[c], direct[c], tol) << "column " << c;
  }
}

TEST(PhysicsIr, VanishingWiresGiveTheCellConductances) {
  std::mt19937 gen(12);
  const Tile t = random_tile(9, 6, Wires{1e-7, 0, 0}, 1e-4, gen);
  std::vector<double> geff(t.g.size());
  transfer_exact(t.g.data(), t.rows, t.cols, t.w, geff.data());
  // Each cell's current path has at most rows + cols + 1 wire segments of 1e-7 ohm, and the
  // cells of one line share at most the line's total current: relative change < 1e-7 * 100 * 1e-4 * 40.
  for (std::size_t i = 0; i < geff.size(); ++i) EXPECT_NEAR(geff[i], t.g[i], 1e-9 * t.g[i]);
  std::vector<double> stat(t.g.size());
  const Wires zero{0, 0, 0};
  transfer_static(t.g.data(), t.rows, t.cols, zero, stat.data());
  // 1 / (1/g + 0): two roundings.
  for (std::size_t i = 0; i < stat.size(); ++i) EXPECT_NEAR(stat[i], t.g[i], 0x1p-51 * t.g[i]);
}

TEST(PhysicsIr, IterativeWithinItsResidualBound) {
  std::mt19937 gen(13);
  const struct {
    int rows, cols;
    Wires w;
    double tol;
  } cases[] = {{12, 20, {1, 0, 0}, 1e-9}, {20, 12, {2, 5, 1}, 1e-9}, {16, 16, {1, 0, 0}, 1e-6}};
  for (const auto& cs : cases) {
    SCOPED_TRACE(std::to_string(cs.rows) + " x " + std::to_string(cs.cols));
    const Tile t = random_tile(cs.rows, cs.cols, cs.w, 1e-3, gen);
    std::vector<double> exact(t.g.size()), iter(t.g.size());
    transfer_exact(t.g.data(), t.rows, t.cols, t.w, exact.data());
    const IrStats st = transfer_iterative(t.g.data(), t.rows, t.cols, t.w, cs.tol, 20000, iter.data());
    EXPECT_EQ(st.systems, std::min(cs.rows, cs.cols));
    EXPECT_GE(st.iterations, 1);
    EXPECT_LE(st.residual, cs.tol * 1.001);  // the true residual, recomputed
    // Each system: ||r|| <= residual ||b||, ||b|| = gd (rows) or 1 (columns); the error of one
    // entry is gs gd ||A^-1 r|| <= gs gd residual / lambda_min (both cases).
    const double gd = 1 / (t.w.r_driver + t.w.r_wire), gs = 1 / (t.w.r_wire + t.w.r_sense);
    const double bound = gs * gd * st.residual / nodal_min_eigenvalue(t.g.data(), t.rows, t.cols, t.w);
    double worst = 0;
    for (std::size_t i = 0; i < exact.size(); ++i) {
      EXPECT_NEAR(iter[i], exact[i], bound + 1e-15 * exact[i]) << "entry " << i;
      worst = std::max(worst, std::fabs(iter[i] - exact[i]));
    }
    std::printf("    iterative %d x %d, tol %.0e: %d iterations, residual %.2e, max |dGeff| %.2e S (bound %.2e S)\n",
                cs.rows, cs.cols, cs.tol, st.iterations, st.residual, worst, bound);
    // The single-vector solve agrees as well.
    std::vector<double> i_iter(cs.cols), i_direct(cs.cols);
    const IrStats s1 = currents_iterative(t.g.data(), t.rows, t.cols, t.w, t.v.data(), cs.tol, 20000, i_iter.data());
    currents_direct(t.g.data(), t.rows, t.cols, t.w, t.v.data(), i_direct.data());
    double vnorm = 0;
    for (double x : t.v) vnorm += x * x;
    const double bound1 =
        gs * s1.residual * gd * std::sqrt(vnorm) / nodal_min_eigenvalue(t.g.data(), t.rows, t.cols, t.w);
    for (int c = 0; c < cs.cols; ++c) EXPECT_NEAR(i_iter[c], i_direct[c], bound1 + 1e-15 * i_direct[c]);
  }
}

TEST(PhysicsIr, NonConvergenceIsAClearError) {
  std::mt19937 gen(14);
  const Tile t = random_tile(10, 10, Wires{1, 0, 0}, 1e-3, gen);
  std::vector<double> geff(t.g.size());
  try {
    transfer_iterative(t.g.data(), t.rows, t.cols, t.w, 1e-14, 1, geff.data());
    FAIL() << "expected an error";
  } catch (const InvalidConfig&) {
    FAIL() << "not a configuration error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("did not converge"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ir_max_iter"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ir_tol"), std::string::npos) << msg;
  }
  // Through a chip instance the message says where.
  HardwareConfig hw;
  hw.rows = hw.cols = 16;
  hw.ir_drop = IrDrop::iterative;
  hw.ir_tol = 1e-14;
  hw.ir_max_iter = 1;
  std::vector<float> W(16 * 2, 0.5f);
  const MappedMatrix m = map_naive(W.data(), 16, 2, hw);
  ChipMatrix chip;
  try {
    instantiate(m, 1, 3, 5, chip);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("layer 5 tile 0 (trial 3)"), std::string::npos) << msg;
  }
  EXPECT_THROW(transfer_exact(t.g.data(), t.rows, t.cols, Wires{0, 0, 0}, geff.data()), InvalidConfig);
}

TEST(PhysicsIr, StaticModelErrorAgainstExact) {
  // Not a tolerance test: the static model ignores current sharing, so it errs; this
  // prints by how much (docs/physics.md quotes it) and checks it is an underestimate of
  // the drop for these tiles, i.e. static currents exceed the exact ones.
  std::mt19937 gen(15);
  for (double g_max : {1e-4, 1e-3}) {
    const Tile t = random_tile(32, 32, Wires{1, 0, 0}, g_max, gen);
    std::vector<double> exact(t.g.size()), stat(t.g.size()), ie(32), is(32), i0(32);
    transfer_exact(t.g.data(), 32, 32, t.w, exact.data());
    transfer_static(t.g.data(), 32, 32, t.w, stat.data());
    currents_from_transfer(exact.data(), 32, 32, t.v.data(), ie.data());
    currents_from_transfer(stat.data(), 32, 32, t.v.data(), is.data());
    currents_from_transfer(t.g.data(), 32, 32, t.v.data(), i0.data());
    double err = 0, drop = 0;
    for (int c = 0; c < 32; ++c) {
      err = std::max(err, std::fabs(is[c] - ie[c]) / ie[c]);
      drop = std::max(drop, (i0[c] - ie[c]) / ie[c]);
      EXPECT_GT(is[c], ie[c]);
    }
    std::printf("    32 x 32, r_wire 1 ohm, g_max %.0e S: IR drop up to %.3g %%, static model error up to %.3g %%\n",
                g_max, 100 * drop, 100 * err);
  }
}
