#pragma once
/// \file
/// Wire resistance (IR drop) of one crossbar tile. The network: wordline node (r, c)
/// joins (r, c+1) through r_wire; row r's driver (voltage V_r) joins (r, 0) through
/// r_driver + r_wire; bitline node (r, c) joins (r+1, c) through r_wire; bitline node
/// (rows-1, c) joins sense node c (held at 0 V) through r_wire + r_sense; cell G[r][c]
/// joins wordline node (r, c) and bitline node (r, c). Column current I_c flows into
/// sense node c.
///
/// The network is linear, so I = Geff^T V exactly, with the transfer matrix
/// Geff[r][c] = current into sense node c per volt on row r alone. Every mode computes
/// Geff once per tile and chip instance; each input vector is then a product:
///  - static: Geff = 1 / (1/G + R_series(r, c)), R_series = r_driver + r_sense +
///    r_wire ((c+1) + (rows-r)) (each cell alone on its wire path; no sharing);
///  - exact: nested-dissection elimination of the nodal matrix onto its rows+cols
///    boundary nodes (driver and sense ends), then a dense solve (docs/physics.md);
///  - iterative: preconditioned conjugate gradients on the nodal equations, one right-
///    hand side per row or per column (whichever is fewer), to a relative residual tol.
/// Matrices are row-major rows x cols, conductances in S, resistances in ohm.

#include <string>

#include "xbarmc/hd.hpp"

namespace xbarmc::physics {

/// Wire resistances of a tile (ohm).
struct Wires {
  double r_wire = 1.0;    ///< per cell segment, wordlines and bitlines
  double r_driver = 0.0;  ///< driver output resistance
  double r_sense = 0.0;   ///< sense input resistance
};

/// Series resistance of the static model at cell (r, c) of a tile with `rows` rows (ohm).
XBARMC_HD double series_resistance(const Wires& w, int rows, int r, int c) {
  return w.r_driver + w.r_sense + w.r_wire * static_cast<double>((c + 1) + (rows - r));
}

/// Static-model transfer conductance of a cell of conductance g (S).
XBARMC_HD double static_transfer(double g, double r_series) { return g > 0.0 ? 1.0 / (1.0 / g + r_series) : 0.0; }

/// The nodal matrix's diagonal at node i of a line of n nodes (a wordline: i = c, a
/// bitline: i = r): the cell g_cell, the wire segments to its neighbours (gw = 1 / r_wire
/// each) and, at position `end`, the line's outer end g_end (a wordline's driver at 0:
/// 1 / (r_driver + r_wire); a bitline's sense node at n - 1: 1 / (r_wire + r_sense)).
/// Summed in this order by the CPU and GPU solvers alike.
XBARMC_HD double line_diag(double g_cell, int i, int n, double gw, int end, double g_end) {
  return g_cell + (i > 0 ? gw : 0.0) + (i < n - 1 ? gw : 0.0) + (i == end ? g_end : 0.0);
}

/// LDL^T of a line's block of the nodal matrix (tridiagonal, off-diagonals -gw): the cells
/// at g[i * stride], multipliers -gw / d_(i-1) (0 at i = 0) into mul[i * stride], reciprocal
/// pivots into inv[i * stride]. The preconditioner of the PCG solvers (CPU and GPU).
XBARMC_HD void factor_line(const double* g, int n, int stride, double gw, int end, double g_end, double* mul,
                           double* inv) {
  double piv = 0.0;
  for (int i = 0; i < n; ++i) {
    const double d = line_diag(g[i * stride], i, n, gw, end, g_end);
    mul[i * stride] = i > 0 ? -gw / piv : 0.0;
    piv = i == 0 ? d : d - gw * gw / piv;
    inv[i * stride] = 1.0 / piv;
  }
}

/// What an iterative solve did.
struct IrStats {
  int systems = 0;        ///< right-hand sides solved
  int iterations = 0;     ///< largest iteration count over the systems
  double residual = 0.0;  ///< largest final relative residual ||b - A x|| / ||b|| (recomputed)
};

/// Static transfer matrix.
void transfer_static(const double* g, int rows, int cols, const Wires& w, double* geff);

/// Exact transfer matrix by elimination onto the boundary nodes (double precision).
void transfer_exact(const double* g, int rows, int cols, const Wires& w, double* geff);

/// Transfer matrix by PCG (line-relaxation preconditioner, see docs/physics.md) to
/// relative residual `tol`. Throws xbarmc::Error when a system has not converged after
/// `max_iter` iterations, naming ir_tol / ir_max_iter and the residual reached.
IrStats transfer_iterative(const double* g, int rows, int cols, const Wires& w, double tol, int max_iter, double* geff);

/// The message of the error for a PCG solve stopped at `iterations` = ir_max_iter with
/// relative residual `residual` above `tol` (the CPU and GPU solvers).
std::string iterative_not_converged(double residual, int iterations, double tol);

/// Column currents (A) for row voltages v (V) by a direct sparse Cholesky solve of the
/// whole nodal system (independent of transfer_exact; for validation and `xbarmc tile`).
void currents_direct(const double* g, int rows, int cols, const Wires& w, const double* v, double* current);

/// Column currents (A) for row voltages v (V) by PCG on the nodal system.
IrStats currents_iterative(const double* g, int rows, int cols, const Wires& w, const double* v, double tol,
                           int max_iter, double* current);

/// Column currents I_c = sum_r v_r geff[r][c] (A).
void currents_from_transfer(const double* geff, int rows, int cols, const double* v, double* current);

/// Smallest eigenvalue of the nodal matrix (S), by inverse iteration with a sparse
/// Cholesky factor; bounds the output error of an iterative solve: |dI_c| <=
/// g_sense * ||r|| / lambda_min (see docs/physics.md).
double nodal_min_eigenvalue(const double* g, int rows, int cols, const Wires& w);

}  // namespace xbarmc::physics
