#include "xbarmc/physics/spice_netlist.hpp"

#include <fmt/format.h>

namespace xbarmc::physics {

std::string spice_netlist(const double* g, int rows, int cols, const Wires& w, const double* v,
                          const std::string& title) {
  std::string s;
  s.reserve(static_cast<std::size_t>(rows) * cols * 80);
  s += "* " + title + "\n";
  s += fmt::format("* {} x {} tile, r_wire {:.17g} ohm, r_driver {:.17g} ohm, r_sense {:.17g} ohm\n", rows, cols,
                   w.r_wire, w.r_driver, w.r_sense);
  for (int r = 0; r < rows; ++r) {
    s += fmt::format("Vin{0} in{0} 0 DC {1:.17g}\n", r, v[r]);
    s += fmt::format("Rdrv{0} in{0} w{0}_0 {1:.17g}\n", r, w.r_driver + w.r_wire);
    for (int c = 0; c + 1 < cols; ++c)
      s += fmt::format("Rw{0}_{1} w{0}_{1} w{0}_{2} {3:.17g}\n", r, c, c + 1, w.r_wire);
    for (int c = 0; c < cols; ++c) {
      const double gc = g[static_cast<std::size_t>(r) * cols + c];
      if (gc > 0) s += fmt::format("Rc{0}_{1} w{0}_{1} b{0}_{1} {2:.17g}\n", r, c, 1.0 / gc);
    }
    if (r + 1 < rows) {
      for (int c = 0; c < cols; ++c) s += fmt::format("Rb{0}_{1} b{0}_{1} b{2}_{1} {3:.17g}\n", r, c, r + 1, w.r_wire);
    }
  }
  for (int c = 0; c < cols; ++c) {
    s += fmt::format("Rsen{0} b{1}_{0} s{0} {2:.17g}\n", c, rows - 1, w.r_wire + w.r_sense);
    s += fmt::format("Vsense{0} s{0} 0 DC 0\n", c);
  }
  s += ".control\nset numdgt=15\nop\n";
  for (int c = 0; c < cols; ++c) s += fmt::format("print i(Vsense{})\n", c);
  s += "quit 0\n.endc\n.end\n";  // exit status 0 (batch mode without .print lines returns 1)
  return s;
}

}  // namespace xbarmc::physics
