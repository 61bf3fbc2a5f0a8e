// IR drop: the nodal network of a tile, its exact transfer matrix by nested-dissection
// elimination onto the boundary nodes, PCG with a line preconditioner, and a direct
// sparse solve for single input vectors.
#include "xbarmc/physics/ir_drop.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>
#include <Eigen/Dense>
#include <Eigen/SparseCholesky>

#include "xbarmc/errors.hpp"

namespace xbarmc::physics {

namespace {

// The nodal matrix A of a tile: wordline nodes W(r,c) = r*C + c, bitline nodes
// B(r,c) = R*C + r*C + c. A is symmetric positive definite whenever r_wire > 0.
struct Network {
  Network(const double* g_, int rows, int cols, const Wires& w)
      : g(g_),
        R(rows),
        C(cols),
        gw(1.0 / w.r_wire),
        gd(1.0 / (w.r_driver + w.r_wire)),
        gs(1.0 / (w.r_wire + w.r_sense)) {
    if (!(w.r_wire > 0.0) || !std::isfinite(w.r_wire)) {
      throw InvalidConfig(fmt::format("r_wire: the nodal IR-drop solvers need r_wire > 0 ohm, got {}", w.r_wire));
    }
  }
  const double* g;
  int R, C;
  double gw, gd, gs;

  int n() const { return 2 * R * C; }
  int wl(int r, int c) const { return r * C + c; }
  int bl(int r, int c) const { return R * C + r * C + c; }
  bool is_wordline(int i) const { return i < R * C; }

  double diag(int i) const {
    if (is_wordline(i)) return line_diag(g[i], i % C, C, gw, 0, gd);
    const int k = i - R * C;
    return line_diag(g[k], k / C, R, gw, R - 1, gs);
  }

  // Calls f(j, a_ij) for each off-diagonal entry of row i.
  template <typename F>
  void for_neighbors(int i, F&& f) const {
    if (is_wordline(i)) {
      const int c = i % C;
      if (c > 0) f(i - 1, -gw);
      if (c < C - 1) f(i + 1, -gw);
      f(i + R * C, -g[i]);
    } else {
      const int k = i - R * C;
      const int r = k / C;
      if (r > 0) f(i - C, -gw);
      if (r < R - 1) f(i + C, -gw);
      f(k, -g[k]);
    }
  }

  Eigen::SparseMatrix<double> sparse() const {
    std::vector<Eigen::Triplet<double>> t;
    t.reserve(static_cast<std::size_t>(n()) * 4);
    for (int i = 0; i < n(); ++i) {
      t.emplace_back(i, i, diag(i));
      for_neighbors(i, [&](int j, double a) { t.emplace_back(i, j, a); });
    }
    Eigen::SparseMatrix<double> a(n(), n());
    a.setFromTriplets(t.begin(), t.end());
    return a;
  }

  // Right-hand side of row voltages v: the drivers inject gd * v_r into W(r, 0).
  Eigen::VectorXd rhs(const double* v) const {
    Eigen::VectorXd b = Eigen::VectorXd::Zero(n());
    for (int r = 0; r < R; ++r) b[wl(r, 0)] = gd * v[r];
    return b;
  }
};

// ---------------------------------------------------------------------------
// Exact: multifrontal elimination of every node except the boundary (the rows'
// driver-side nodes W(r,0) and the columns' sense-side nodes B(R-1,c)), in a
// geometric nested-dissection order. A column cut needs only that column's wordline
// nodes as separator (bitlines run vertically), a row cut only that row's bitline
// nodes; the cut column's bitline chain (row's wordline chain) hangs off its
// separator as a child of its own. What remains is the Schur complement S of A on
// the boundary, and A^-1 restricted to the boundary is S^-1.
// ---------------------------------------------------------------------------
class BoundaryCondenser {
 public:
  explicit BoundaryCondenser(const Network& net) : net_(net), boundary_(static_cast<std::size_t>(net.n()), 0) {
    for (int r = 0; r < net.R; ++r) boundary_[net.wl(r, 0)] = 1;
    for (int c = 0; c < net.C; ++c) boundary_[net.bl(net.R - 1, c)] = 1;
    build(0, net.R, 0, net.C);
  }

  // geff[r*C + c] = gs * gd * (S^-1)[B(R-1,c), W(r,0)].
  void transfer(double* geff) {
    const int n = net_.n();
    std::vector<char> state(static_cast<std::size_t>(n), 0);  // 0 pending, 1 eliminated, 2 in the current front
    std::vector<int> pos(static_cast<std::size_t>(n), -1);
    std::vector<Update> updates(tree_.size());
    std::vector<char> consumed(tree_.size(), 0);
    for (std::size_t f = 0; f < tree_.size(); ++f) {
      const Front& fr = tree_[f];
      std::vector<int> idx = fr.elim;
      for (int e : fr.elim) state[e] = 2;
      for (int i = 0; i < static_cast<int>(idx.size()); ++i) pos[idx[i]] = i;
      auto add_update_index = [&](int j) {
        if (state[j] == 0 && pos[j] < 0) {
          pos[j] = static_cast<int>(idx.size());
          idx.push_back(j);
        }
      };
      for (int ch : fr.children) {
        for (int j : updates[ch].idx) add_update_index(j);
      }
      for (int e : fr.elim) net_.for_neighbors(e, [&](int j, double) { add_update_index(j); });
      const int ne = static_cast<int>(fr.elim.size());
      Eigen::MatrixXd F = assemble(idx, ne, state, pos);
      for (int ch : fr.children) {
        extend_add(F, updates[ch], pos);
        updates[ch] = Update{};
        consumed[ch] = 1;
      }
      const int nu = static_cast<int>(idx.size()) - ne;
      Update up;
      up.idx.assign(idx.begin() + ne, idx.end());
      if (ne > 0) {
        Eigen::LLT<Eigen::MatrixXd> llt(F.topLeftCorner(ne, ne));
        if (llt.info() != Eigen::Success) throw Error("exact IR drop: the nodal matrix is not positive definite");
        Eigen::MatrixXd y = F.bottomLeftCorner(nu, ne);
        llt.matrixU().solveInPlace<Eigen::OnTheRight>(y);  // y = F_UE L^-T
        up.mat = F.bottomRightCorner(nu, nu);
        up.mat.selfadjointView<Eigen::Lower>().rankUpdate(y, -1.0);
      } else {
        up.mat = F.bottomRightCorner(nu, nu);
      }
      updates[f] = std::move(up);
      for (int j : idx) pos[j] = -1;
      for (int e : fr.elim) state[e] = 1;
    }
    // The boundary front.
    std::vector<int> bidx;
    for (int r = 0; r < net_.R; ++r) bidx.push_back(net_.wl(r, 0));
    for (int c = 0; c < net_.C; ++c) bidx.push_back(net_.bl(net_.R - 1, c));
    for (int b : bidx) state[b] = 2;
    for (int i = 0; i < static_cast<int>(bidx.size()); ++i) pos[bidx[i]] = i;
    const int nb = static_cast<int>(bidx.size());
    Eigen::MatrixXd S = assemble(bidx, nb, state, pos);
    for (std::size_t f = 0; f < tree_.size(); ++f) {
      if (!consumed[f]) extend_add(S, updates[f], pos);
    }
    Eigen::LLT<Eigen::MatrixXd> llt(S);
    if (llt.info() != Eigen::Success)
      throw Error("exact IR drop: the boundary Schur complement is not positive definite");
    Eigen::MatrixXd x = Eigen::MatrixXd::Zero(nb, net_.R);
    for (int r = 0; r < net_.R; ++r) x(r, r) = net_.gd;
    llt.solveInPlace(x);
    for (int r = 0; r < net_.R; ++r) {
      for (int c = 0; c < net_.C; ++c) geff[static_cast<std::size_t>(r) * net_.C + c] = net_.gs * x(net_.R + c, r);
    }
  }

 private:
  struct Front {
    std::vector<int> elim;
    std::vector<int> children;
  };
  struct Update {
    std::vector<int> idx;  // global node of each row/column
    Eigen::MatrixXd mat;   // lower triangle valid
  };

  // Rectangles of at most this many grid points are eliminated as one dense front.
  static constexpr int leaf_points = 16;

  int add_front(std::vector<int> elim, std::vector<int> children) {
    children.erase(std::remove(children.begin(), children.end(), -1), children.end());
    if (elim.empty() && children.empty()) return -1;
    tree_.push_back(Front{std::move(elim), std::move(children)});
    return static_cast<int>(tree_.size()) - 1;
  }

  void push_interior(std::vector<int>& v, int node) const {
    if (!boundary_[node]) v.push_back(node);
  }

  // Fronts eliminating every non-boundary node of the grid points [r0,r1) x [c0,c1).
  int build(int r0, int r1, int c0, int c1) {
    const int h = r1 - r0;
    const int w = c1 - c0;
    if (h <= 0 || w <= 0) return -1;
    std::vector<int> elim;
    if (h * w <= leaf_points) {
      for (int r = r0; r < r1; ++r) {
        for (int c = c0; c < c1; ++c) {
          push_interior(elim, net_.wl(r, c));
          push_interior(elim, net_.bl(r, c));
        }
      }
      return add_front(std::move(elim), {});
    }
    if (w >= h) {
      const int cm = (c0 + c1) / 2;
      const int left = build(r0, r1, c0, cm);
      const int right = build(r0, r1, cm + 1, c1);
      std::vector<int> chain;
      for (int r = r0; r < r1; ++r) push_interior(chain, net_.bl(r, cm));
      const int bitline = add_front(std::move(chain), {});
      for (int r = r0; r < r1; ++r) push_interior(elim, net_.wl(r, cm));
      return add_front(std::move(elim), {left, right, bitline});
    }
    const int rm = (r0 + r1) / 2;
    const int top = build(r0, rm, c0, c1);
    const int bottom = build(rm + 1, r1, c0, c1);
    std::vector<int> chain;
    for (int c = c0; c < c1; ++c) push_interior(chain, net_.wl(rm, c));
    const int wordline = add_front(std::move(chain), {});
    for (int c = c0; c < c1; ++c) push_interior(elim, net_.bl(rm, c));
    return add_front(std::move(elim), {top, bottom, wordline});
  }

  // Lower triangle of the front's original entries: rows of the first ne indices
  // (those eliminated here), each entry added once.
  Eigen::MatrixXd assemble(const std::vector<int>& idx, int ne, const std::vector<char>& state,
                           const std::vector<int>& pos) const {
    const int nf = static_cast<int>(idx.size());
    Eigen::MatrixXd F = Eigen::MatrixXd::Zero(nf, nf);
    for (int a = 0; a < ne; ++a) {
      const int e = idx[a];
      F(a, a) += net_.diag(e);
      net_.for_neighbors(e, [&](int j, double v) {
        if (state[j] == 1) return;  // eliminated in a descendant, assembled there
        const int b = pos[j];
        if (state[j] == 2) {
          if (a > b) F(a, b) += v;  // both in this front: once per pair
        } else {
          F(b, a) += v;  // b > a: update indices follow the eliminated ones
        }
      });
    }
    return F;
  }

  static void extend_add(Eigen::MatrixXd& F, const Update& u, const std::vector<int>& pos) {
    const int m = static_cast<int>(u.idx.size());
    for (int b = 0; b < m; ++b) {
      const int pb = pos[u.idx[b]];
      for (int a = b; a < m; ++a) {
        const int pa = pos[u.idx[a]];
        if (pa >= pb) {
          F(pa, pb) += u.mat(a, b);
        } else {
          F(pb, pa) += u.mat(a, b);
        }
      }
    }
  }

  const Network& net_;
  std::vector<char> boundary_;
  std::vector<Front> tree_;
};

// ---------------------------------------------------------------------------
// Iterative: conjugate gradients preconditioned by one symmetric block Gauss-Seidel
// sweep over the two node families, each block solved exactly line by line:
// wordlines (tridiagonal in c) then bitlines (tridiagonal in r) then wordlines again.
// k right-hand sides run together, stored node-major (x[i*k + j]), so every loop is
// vectorized across the systems.
// ---------------------------------------------------------------------------
class LinePcg {
 public:
  explicit LinePcg(const Network& net) : net_(net) {
    const int R = net.R, C = net.C;
    const std::size_t n = static_cast<std::size_t>(net.n());
    const std::size_t rc = static_cast<std::size_t>(R) * C;
    diag_.resize(n);
    for (std::size_t i = 0; i < n; ++i) diag_[i] = net.diag(static_cast<int>(i));
    // LDL^T of each wordline (over c) and bitline (over r): multipliers and reciprocal
    // pivots (physics::factor_line, shared with the GPU solver).
    w_mul_.resize(rc);
    w_inv_.resize(rc);
    b_mul_.resize(rc);
    b_inv_.resize(rc);
    for (int r = 0; r < R; ++r) {
      const std::size_t o = static_cast<std::size_t>(r) * C;
      factor_line(net.g + o, C, 1, net.gw, 0, net.gd, &w_mul_[o], &w_inv_[o]);
    }
    for (int c = 0; c < C; ++c) factor_line(net.g + c, R, C, net.gw, R - 1, net.gs, &b_mul_[c], &b_inv_[c]);
  }

  // Solves A x = b for k systems; x holds the start (zero) and the result.
  IrStats solve(const double* b, double* x, int k, double tol, int max_iter) const {
    const std::size_t n = static_cast<std::size_t>(net_.n());
    std::vector<double> r(n * k), z(n * k), p(n * k), q(n * k);
    std::vector<double> rho(k), bnorm(k), rnorm(k), alpha(k), beta(k), pq(k);
    std::vector<char> active(k, 1);
    apply(x, q.data(), k);
    for (std::size_t i = 0; i < n * k; ++i) r[i] = b[i] - q[i];
    norms(b, bnorm.data(), k);
    for (int j = 0; j < k; ++j) {
      if (bnorm[j] == 0.0) bnorm[j] = 1.0;
    }
    std::vector<double> scratch(n / 2 * k), rho_new(k);
    precondition(r.data(), z.data(), scratch.data(), k);
    p = z;
    dots(r.data(), z.data(), rho.data(), k);
    IrStats stats;
    stats.systems = k;
    int it = 0;
    for (;;) {
      norms(r.data(), rnorm.data(), k);
      bool any = false;
      for (int j = 0; j < k; ++j) {
        if (active[j] && rnorm[j] <= tol * bnorm[j]) {
          active[j] = 0;
          stats.iterations = std::max(stats.iterations, it);
        }
        any = any || active[j];
      }
      if (!any) break;
      if (it == max_iter) {
        double worst = 0.0;
        for (int j = 0; j < k; ++j) worst = std::max(worst, rnorm[j] / bnorm[j]);
        throw Error(iterative_not_converged(worst, it, tol));
      }
      ++it;
      apply(p.data(), q.data(), k);
      dots(p.data(), q.data(), pq.data(), k);
      for (int j = 0; j < k; ++j) alpha[j] = active[j] ? rho[j] / pq[j] : 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        for (int j = 0; j < k; ++j) {
          x[i * k + j] += alpha[j] * p[i * k + j];
          r[i * k + j] -= alpha[j] * q[i * k + j];
        }
      }
      precondition(r.data(), z.data(), scratch.data(), k);
      dots(r.data(), z.data(), rho_new.data(), k);
      for (int j = 0; j < k; ++j) {
        beta[j] = active[j] ? rho_new[j] / rho[j] : 0.0;
        rho[j] = rho_new[j];
      }
      for (std::size_t i = 0; i < n; ++i) {
        for (int j = 0; j < k; ++j) {
          if (active[j]) p[i * k + j] = z[i * k + j] + beta[j] * p[i * k + j];
        }
      }
    }
    // The recursively updated residual drifts from the true one; report the true one.
    apply(x, q.data(), k);
    for (std::size_t i = 0; i < n * k; ++i) r[i] = b[i] - q[i];
    norms(r.data(), rnorm.data(), k);
    for (int j = 0; j < k; ++j) stats.residual = std::max(stats.residual, rnorm[j] / bnorm[j]);
    return stats;
  }

 private:
  // q = A p.
  void apply(const double* p, double* q, int k) const {
    const int R = net_.R, C = net_.C;
    const double gw = net_.gw;
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        const int i = net_.wl(r, c), ib = net_.bl(r, c);
        const double d = diag_[i], g = net_.g[i];
        const double* pi = p + static_cast<std::size_t>(i) * k;
        const double* pb = p + static_cast<std::size_t>(ib) * k;
        double* qi = q + static_cast<std::size_t>(i) * k;
        for (int j = 0; j < k; ++j) qi[j] = d * pi[j] - g * pb[j];
        if (c > 0) {
          for (int j = 0; j < k; ++j) qi[j] -= gw * pi[j - k];
        }
        if (c < C - 1) {
          for (int j = 0; j < k; ++j) qi[j] -= gw * pi[j + k];
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        const int i = net_.bl(r, c), iw = net_.wl(r, c);
        const double d = diag_[i], g = net_.g[iw];
        const std::size_t ck = static_cast<std::size_t>(C) * k;
        const double* pi = p + static_cast<std::size_t>(i) * k;
        const double* pw = p + static_cast<std::size_t>(iw) * k;
        double* qi = q + static_cast<std::size_t>(i) * k;
        for (int j = 0; j < k; ++j) qi[j] = d * pi[j] - g * pw[j];
        if (r > 0) {
          for (int j = 0; j < k; ++j) qi[j] -= gw * pi[j - ck];
        }
        if (r < R - 1) {
          for (int j = 0; j < k; ++j) qi[j] -= gw * pi[j + ck];
        }
      }
    }
  }

  // In place: y (wordline part) <- T_W^-1 y, line by line.
  void solve_wordlines(double* y, int k) const {
    const int R = net_.R, C = net_.C;
    for (int r = 0; r < R; ++r) {
      double* row = y + static_cast<std::size_t>(net_.wl(r, 0)) * k;
      const double* mul = &w_mul_[static_cast<std::size_t>(r) * C];
      const double* inv = &w_inv_[static_cast<std::size_t>(r) * C];
      for (int c = 1; c < C; ++c) {
        for (int j = 0; j < k; ++j) row[c * k + j] -= mul[c] * row[(c - 1) * k + j];
      }
      for (int j = 0; j < k; ++j) row[(C - 1) * k + j] *= inv[C - 1];
      for (int c = C - 2; c >= 0; --c) {
        for (int j = 0; j < k; ++j) row[c * k + j] = row[c * k + j] * inv[c] - mul[c + 1] * row[(c + 1) * k + j];
      }
    }
  }

  // In place: y (bitline part) <- T_B^-1 y, all columns of a row at once.
  void solve_bitlines(double* y, int k) const {
    const int R = net_.R, C = net_.C;
    const std::size_t ck = static_cast<std::size_t>(C) * k;
    double* base = y + static_cast<std::size_t>(net_.bl(0, 0)) * k;
    for (int r = 1; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        const double l = b_mul_[static_cast<std::size_t>(r) * C + c];
        double* cur = base + r * ck + static_cast<std::size_t>(c) * k;
        for (int j = 0; j < k; ++j) cur[j] -= l * cur[j - ck];
      }
    }
    for (int c = 0; c < C; ++c) {
      const double inv = b_inv_[static_cast<std::size_t>(R - 1) * C + c];
      double* cur = base + (R - 1) * ck + static_cast<std::size_t>(c) * k;
      for (int j = 0; j < k; ++j) cur[j] *= inv;
    }
    for (int r = R - 2; r >= 0; --r) {
      for (int c = 0; c < C; ++c) {
        const std::size_t i = static_cast<std::size_t>(r) * C + c;
        const double inv = b_inv_[i], l = b_mul_[i + C];
        double* cur = base + r * ck + static_cast<std::size_t>(c) * k;
        for (int j = 0; j < k; ++j) cur[j] = cur[j] * inv - l * cur[j + ck];
      }
    }
  }

  // z = M^-1 r, M = (D + L) D^-1 (D + L^T), D = diag(T_W, T_B), L = the cell coupling -G;
  // t: scratch of rows * cols * k.
  void precondition(const double* r, double* z, double* t, int k) const {
    const std::size_t half = static_cast<std::size_t>(net_.R) * net_.C;
    std::copy(r, r + 2 * half * k, z);
    solve_wordlines(z, k);  // y_W
    double* zb = z + half * k;
    for (std::size_t i = 0; i < half; ++i) {
      for (int j = 0; j < k; ++j) zb[i * k + j] += net_.g[i] * z[i * k + j];
    }
    solve_bitlines(z, k);  // z_B = y_B
    for (std::size_t i = 0; i < half; ++i) {
      for (int j = 0; j < k; ++j) t[i * k + j] = net_.g[i] * zb[i * k + j];
    }
    solve_wordlines(t, k);
    for (std::size_t i = 0; i < half * k; ++i) z[i] += t[i];  // z_W = y_W + T_W^-1 G z_B
  }

  void dots(const double* a, const double* b, double* out, int k) const {
    std::fill(out, out + k, 0.0);
    const std::size_t n = static_cast<std::size_t>(net_.n());
    for (std::size_t i = 0; i < n; ++i) {
      for (int j = 0; j < k; ++j) out[j] += a[i * k + j] * b[i * k + j];
    }
  }
  void norms(const double* a, double* out, int k) const {
    dots(a, a, out, k);
    for (int j = 0; j < k; ++j) out[j] = std::sqrt(out[j]);
  }

  const Network& net_;
  std::vector<double> diag_;   // A's diagonal
  std::vector<double> w_mul_;  // wordline LDL^T multipliers (0 at c = 0)
  std::vector<double> w_inv_;  // wordline reciprocal pivots
  std::vector<double> b_mul_;  // bitline multipliers (0 at r = 0)
  std::vector<double> b_inv_;  // bitline reciprocal pivots
};

// Systems solved together by the iterative transfer computation.
constexpr int pcg_block = 8;

}  // namespace

std::string iterative_not_converged(double residual, int iterations, double tol) {
  return fmt::format(
      "iterative IR drop did not converge: relative residual {:.3g} after {} iterations (ir_max_iter), above "
      "ir_tol = {:.3g}; raise ir_max_iter, loosen ir_tol, or use ir_drop = exact",
      residual, iterations, tol);
}

void transfer_static(const double* g, int rows, int cols, const Wires& w, double* geff) {
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const std::size_t i = static_cast<std::size_t>(r) * cols + c;
      geff[i] = static_transfer(g[i], series_resistance(w, rows, r, c));
    }
  }
}

void transfer_exact(const double* g, int rows, int cols, const Wires& w, double* geff) {
  const Network net(g, rows, cols, w);
  BoundaryCondenser(net).transfer(geff);
}

IrStats transfer_iterative(const double* g, int rows, int cols, const Wires& w, double tol, int max_iter,
                           double* geff) {
  const Network net(g, rows, cols, w);
  const LinePcg pcg(net);
  const std::size_t n = static_cast<std::size_t>(net.n());
  // A is symmetric: Geff[r][c] = gs gd (A^-1)[B(R-1,c), W(r,0)] from the row systems
  // (unit voltage on row r) or from the column systems (unit current into B(R-1,c)).
  const bool by_rows = rows <= cols;
  const int systems = by_rows ? rows : cols;
  IrStats total;
  std::vector<double> b, x;
  for (int s0 = 0; s0 < systems; s0 += pcg_block) {
    const int k = std::min(pcg_block, systems - s0);
    b.assign(n * k, 0.0);
    x.assign(n * k, 0.0);
    for (int j = 0; j < k; ++j) {
      const int node = by_rows ? net.wl(s0 + j, 0) : net.bl(rows - 1, s0 + j);
      b[static_cast<std::size_t>(node) * k + j] = by_rows ? net.gd : 1.0;
    }
    const IrStats st = pcg.solve(b.data(), x.data(), k, tol, max_iter);
    total.systems += st.systems;
    total.iterations = std::max(total.iterations, st.iterations);
    total.residual = std::max(total.residual, st.residual);
    for (int j = 0; j < k; ++j) {
      if (by_rows) {
        const int r = s0 + j;
        for (int c = 0; c < cols; ++c) {
          geff[static_cast<std::size_t>(r) * cols + c] =
              net.gs * x[static_cast<std::size_t>(net.bl(rows - 1, c)) * k + j];
        }
      } else {
        const int c = s0 + j;
        for (int r = 0; r < rows; ++r) {
          geff[static_cast<std::size_t>(r) * cols + c] =
              net.gs * net.gd * x[static_cast<std::size_t>(net.wl(r, 0)) * k + j];
        }
      }
    }
  }
  return total;
}

void currents_direct(const double* g, int rows, int cols, const Wires& w, const double* v, double* current) {
  const Network net(g, rows, cols, w);
  Eigen::SimplicialLLT<Eigen::SparseMatrix<double>> chol(net.sparse());
  if (chol.info() != Eigen::Success) throw Error("exact IR drop: the nodal matrix is not positive definite");
  const Eigen::VectorXd x = chol.solve(net.rhs(v));
  for (int c = 0; c < cols; ++c) current[c] = net.gs * x[net.bl(rows - 1, c)];
}

IrStats currents_iterative(const double* g, int rows, int cols, const Wires& w, const double* v, double tol,
                           int max_iter, double* current) {
  const Network net(g, rows, cols, w);
  const Eigen::VectorXd b = net.rhs(v);
  std::vector<double> x(static_cast<std::size_t>(net.n()), 0.0);
  const IrStats st = LinePcg(net).solve(b.data(), x.data(), 1, tol, max_iter);
  for (int c = 0; c < cols; ++c) current[c] = net.gs * x[net.bl(rows - 1, c)];
  return st;
}

void currents_from_transfer(const double* geff, int rows, int cols, const double* v, double* current) {
  std::fill(current, current + cols, 0.0);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) current[c] += v[r] * geff[static_cast<std::size_t>(r) * cols + c];
  }
}

double nodal_min_eigenvalue(const double* g, int rows, int cols, const Wires& w) {
  const Network net(g, rows, cols, w);
  const Eigen::SparseMatrix<double> a = net.sparse();
  Eigen::SimplicialLLT<Eigen::SparseMatrix<double>> chol(a);
  if (chol.info() != Eigen::Success) throw Error("IR drop: the nodal matrix is not positive definite");
  // Inverse iteration converges to the largest eigenvalue of A^-1 from below, so the
  // Rayleigh quotient of A approaches lambda_min from above; iterate to a stable value.
  Eigen::VectorXd x = Eigen::VectorXd::Ones(net.n()).normalized();
  double lambda = 0.0;
  for (int it = 0; it < 500; ++it) {
    Eigen::VectorXd y = chol.solve(x);
    y.normalize();
    const double next = y.dot(a * y);
    x = y;
    if (it > 0 && std::fabs(next - lambda) <= 1e-12 * next) {
      lambda = next;
      break;
    }
    lambda = next;
  }
  return lambda;
}

}  // namespace xbarmc::physics
