#pragma once
/// \file
/// Iterative IR drop on the GPU: the CPU's preconditioned conjugate gradients
/// (kernels/cpu/ir_drop.cpp, `LinePcg`; docs/physics.md) with one right-hand side per
/// thread block, written against the primitives of simt.hpp so that the same code runs
/// on the GPU and, in tests/simt, on the CPU emulator.
///
/// A chip instance is one tile of one trial: its conductances g (row-major rows x cols,
/// S). `factor_body` (a block per instance) factors every wordline and bitline block of
/// the nodal matrix (LDL^T of the tridiagonal lines, as LinePcg's constructor);
/// `pcg_body` (a block per system: instance x right-hand side) runs PCG to the relative
/// residual tol and writes its row (or column) of the transfer matrix Geff and what it
/// did. The arithmetic of a system is the CPU's, step by step (unit voltage on row j when
/// rows <= cols, else unit current into sense node j; the symmetric block Gauss-Seidel
/// preconditioner; the true residual recomputed at the end); only the order of the terms
/// of the dot products differs: a fixed tree here, so results never vary between runs.
///
/// Node numbering as the CPU's: wordline node (r, c) is r C + c, bitline node (r, c) is
/// R C + r C + c. A thread owns whole lines in the line solves (a wordline is a row, a
/// bitline a column) and strided nodes elsewhere.

#include <cmath>
#include <cstdint>

#include "simt.hpp"
#include "xbarmc/physics/ir_drop.hpp"

namespace xbarmc::cuda::ir {

constexpr int kThreads = 128;  ///< threads per block of both kernels
constexpr int kWarps = kThreads / 32;
constexpr int kWorkPerCell = 11;  ///< doubles of work space per cell and system: x, r, p, q, z (2 each), t

/// A tile's wire network (docs/physics.md).
struct Shape {
  int R = 0, C = 0;
  double gw = 0, gd = 0, gs = 0;  ///< 1 / r_wire, 1 / (r_driver + r_wire), 1 / (r_wire + r_sense)
};

/// What one system did.
struct SystemStats {
  int iterations;   ///< iterations to convergence (or max_iter)
  int converged;    ///< 1: reached tol; 0: stopped at max_iter
  double residual;  ///< ||b - A x|| / ||b||, recomputed from x at the end
};

struct PcgParams {
  Shape s;
  const double* g = nullptr;     ///< [instances][R C]
  double* factors = nullptr;     ///< [instances][4][R C]: wordline multipliers, reciprocal pivots; bitline the same
  double* work = nullptr;        ///< [systems][kWorkPerCell R C]
  double* geff = nullptr;        ///< [instances][R C]
  SystemStats* stats = nullptr;  ///< [systems]
  int systems_per_instance = 0;  ///< min(R, C)
  bool by_rows = true;           ///< R <= C: one system per row, else one per column
  double tol = 1e-9;
  int max_iter = 1;
};

/// The launch parameters of a rows x cols tile's solves (the pointers left to the caller).
inline PcgParams pcg_params(int rows, int cols, const physics::Wires& w, double tol, int max_iter) {
  PcgParams p;
  p.s = Shape{rows, cols, 1.0 / w.r_wire, 1.0 / (w.r_driver + w.r_wire), 1.0 / (w.r_wire + w.r_sense)};
  p.systems_per_instance = rows < cols ? rows : cols;
  p.by_rows = rows <= cols;
  p.tol = tol;
  p.max_iter = max_iter;
  return p;
}

/// The nodal matrix's diagonal at wordline node (r, c) and bitline node (r, c)
/// (physics::line_diag, as the CPU's solvers).
XBARMC_SIMT double wordline_diag(const Shape& s, const double* g, int r, int c) {
  return physics::line_diag(g[r * s.C + c], c, s.C, s.gw, 0, s.gd);
}
XBARMC_SIMT double bitline_diag(const Shape& s, const double* g, int r, int c) {
  return physics::line_diag(g[r * s.C + c], r, s.R, s.gw, s.R - 1, s.gs);
}

/// Block `block_x()` factors instance block_x(): the LDL^T of each wordline (over c) and
/// bitline (over r) by physics::factor_line, as the CPU's LinePcg.
XBARMC_SIMT void factor_body(const PcgParams& p) {
  const Shape& s = p.s;
  const std::int64_t rc = static_cast<std::int64_t>(s.R) * s.C;
  const int inst = simt::block_x();
  const double* g = p.g + inst * rc;
  double* w_mul = p.factors + inst * 4 * rc;
  double* w_inv = w_mul + rc;
  double* b_mul = w_inv + rc;
  double* b_inv = b_mul + rc;
  for (int r = simt::thread_x(); r < s.R; r += kThreads) {
    const int o = r * s.C;
    physics::factor_line(g + o, s.C, 1, s.gw, 0, s.gd, w_mul + o, w_inv + o);
  }
  for (int c = simt::thread_x(); c < s.C; c += kThreads)
    physics::factor_line(g + c, s.R, s.C, s.gw, s.R - 1, s.gs, b_mul + c, b_inv + c);
}

/// The sum of v over the block, the same value in every thread: a butterfly within each
/// warp, then the warp sums in warp order (a fixed order: deterministic). `red` holds
/// kWarps doubles of shared memory.
XBARMC_SIMT double block_sum(double v, double* red) {
  XBARMC_UNROLL
  for (int m = 16; m >= 1; m /= 2) v += simt::shfl_xor(v, m);
  const int tid = simt::thread_x();
  if (tid % 32 == 0) red[tid / 32] = v;
  simt::sync_block();
  double total = 0.0;
  XBARMC_UNROLL
  for (int w = 0; w < kWarps; ++w) total += red[w];
  simt::sync_block();  // red is free again
  return total;
}

namespace detail {

// One line of y <- T^-1 (the same line of `in`), the line's n nodes at o + i stride (a
// wordline: o = r C, stride 1, n = C; a bitline: o = c, stride C, n = R) with factor_line's
// multipliers and reciprocal pivots: the forward sweep reads `in` and writes y, the
// backward sweep runs in place. in == y is allowed.
XBARMC_SIMT void solve_line(const double* mul, const double* inv, const double* in, double* y, int o, int stride,
                            int n) {
  double prev = in[o];
  y[o] = prev;
  for (int i = 1; i < n; ++i) {
    const int at = o + i * stride;
    prev = in[at] - mul[at] * prev;
    y[at] = prev;
  }
  const int last = o + (n - 1) * stride;
  prev *= inv[last];
  y[last] = prev;
  for (int i = n - 2; i >= 0; --i) {
    const int at = o + i * stride;
    prev = y[at] * inv[at] - mul[at + stride] * prev;
    y[at] = prev;
  }
}

// q = A v at node i (the CPU's LinePcg::apply, term by term).
XBARMC_SIMT double apply_at(const Shape& s, const double* g, const double* v, int i) {
  const int rc = s.R * s.C;
  if (i < rc) {
    const int r = i / s.C, c = i - r * s.C;
    double q = wordline_diag(s, g, r, c) * v[i] - g[i] * v[rc + i];
    if (c > 0) q -= s.gw * v[i - 1];
    if (c < s.C - 1) q -= s.gw * v[i + 1];
    return q;
  }
  const int k = i - rc, r = k / s.C, c = k - r * s.C;
  double q = bitline_diag(s, g, r, c) * v[i] - g[k] * v[k];
  if (r > 0) q -= s.gw * v[i - s.C];
  if (r < s.R - 1) q -= s.gw * v[i + s.C];
  return q;
}

}  // namespace detail

/// Block `block_x()` solves system block_x() (instance = system / systems_per_instance, j
/// = system % systems_per_instance) and writes its part of Geff and its stats. `red`:
/// kWarps doubles of shared memory.
XBARMC_SIMT void pcg_body(const PcgParams& p, double* red) {
  const Shape& s = p.s;
  const int tid = simt::thread_x();
  const int system = simt::block_x();
  const int inst = system / p.systems_per_instance, j = system - inst * p.systems_per_instance;
  const int rc = s.R * s.C, n = 2 * rc;
  const double* g = p.g + static_cast<std::int64_t>(inst) * rc;
  const double* w_mul = p.factors + static_cast<std::int64_t>(inst) * 4 * rc;
  const double* w_inv = w_mul + rc;
  const double* b_mul = w_inv + rc;
  const double* b_inv = b_mul + rc;
  double* x = p.work + static_cast<std::int64_t>(system) * kWorkPerCell * rc;
  double* r = x + n;
  double* pv = r + n;
  double* q = pv + n;
  double* z = q + n;
  double* t = z + n;  // rc

  // b: gd at the driver node of row j (1 V on row j) or 1 A into the sense node of column j.
  const int nb = p.by_rows ? j * s.C : rc + (s.R - 1) * s.C + j;
  const double bv = p.by_rows ? s.gd : 1.0;
  const double bnorm = std::sqrt(bv * bv);

  // z = M^-1 r, M = (D + L) D^-1 (D + L^T): y_W = T_W^-1 r_W; z_B = T_B^-1 (r_B + G y_W);
  // z_W = y_W + T_W^-1 G z_B. Rows, then columns, then rows, each line by its owner.
  auto precondition = [&]() {
    for (int row = tid; row < s.R; row += kThreads) {
      detail::solve_line(w_mul, w_inv, r, z, row * s.C, 1, s.C);
      for (int c = 0; c < s.C; ++c) {
        const int i = row * s.C + c;
        z[rc + i] = r[rc + i] + g[i] * z[i];
      }
    }
    simt::sync_block();
    for (int col = tid; col < s.C; col += kThreads) {
      detail::solve_line(b_mul, b_inv, z + rc, z + rc, col, s.C, s.R);
      for (int row = 0; row < s.R; ++row) {
        const int i = row * s.C + col;
        t[i] = g[i] * z[rc + i];
      }
    }
    simt::sync_block();
    for (int row = tid; row < s.R; row += kThreads) {
      detail::solve_line(w_mul, w_inv, t, t, row * s.C, 1, s.C);
      for (int c = 0; c < s.C; ++c) z[row * s.C + c] += t[row * s.C + c];
    }
    simt::sync_block();
  };

  for (int i = tid; i < n; i += kThreads) {
    x[i] = 0.0;
    r[i] = i == nb ? bv : 0.0;  // r = b - A 0
  }
  simt::sync_block();
  precondition();
  double acc = 0.0;
  for (int i = tid; i < n; i += kThreads) {
    pv[i] = z[i];
    acc += r[i] * z[i];
  }
  double rho = block_sum(acc, red);
  double rr = bv * bv;  // ||r||^2 of r = b
  int it = 0;
  bool converged = false;
  for (;;) {
    if (std::sqrt(rr) <= p.tol * bnorm) {
      converged = true;
      break;
    }
    if (it == p.max_iter) break;
    ++it;
    acc = 0.0;
    for (int i = tid; i < n; i += kThreads) {
      const double qi = detail::apply_at(s, g, pv, i);
      q[i] = qi;
      acc += pv[i] * qi;
    }
    const double alpha = rho / block_sum(acc, red);
    acc = 0.0;
    for (int i = tid; i < n; i += kThreads) {
      x[i] += alpha * pv[i];
      const double ri = r[i] - alpha * q[i];
      r[i] = ri;
      acc += ri * ri;
    }
    rr = block_sum(acc, red);  // also orders the r updates before the line solves
    precondition();
    acc = 0.0;
    for (int i = tid; i < n; i += kThreads) acc += r[i] * z[i];
    const double rho_new = block_sum(acc, red);
    const double beta = rho_new / rho;
    rho = rho_new;
    for (int i = tid; i < n; i += kThreads) pv[i] = z[i] + beta * pv[i];
    simt::sync_block();
  }

  // The recursively updated residual drifts from the true one: recompute it from x.
  acc = 0.0;
  for (int i = tid; i < n; i += kThreads) {
    const double ri = (i == nb ? bv : 0.0) - detail::apply_at(s, g, x, i);
    acc += ri * ri;
  }
  const double residual = std::sqrt(block_sum(acc, red)) / bnorm;

  double* geff = p.geff + static_cast<std::int64_t>(inst) * rc;
  if (p.by_rows) {
    for (int c = tid; c < s.C; c += kThreads) geff[j * s.C + c] = s.gs * x[rc + (s.R - 1) * s.C + c];
  } else {
    for (int row = tid; row < s.R; row += kThreads) geff[row * s.C + j] = s.gs * s.gd * x[row * s.C];
  }
  if (tid == 0) p.stats[system] = SystemStats{it, converged ? 1 : 0, residual};
}

}  // namespace xbarmc::cuda::ir
