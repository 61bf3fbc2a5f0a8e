#pragma once
/// \file
/// A tile's circuit (physics/ir_drop.hpp) as an ngspice netlist, for validation:
/// `ngspice -b FILE` solves the operating point and prints the current of each sense
/// source as "i(vsense<c>) = <A>". Node names: in<r> (driver), w<r>_<c> (wordline),
/// b<r>_<c> (bitline), s<c> (sense, held at 0 V by Vsense<c>).

#include <string>

#include "xbarmc/physics/ir_drop.hpp"

namespace xbarmc::physics {

/// The netlist of conductances g (S, rows x cols) with row voltages v (V). A cell of
/// conductance 0 is left out (an open circuit). `title` becomes the first line.
std::string spice_netlist(const double* g, int rows, int cols, const Wires& w, const double* v,
                          const std::string& title);

}  // namespace xbarmc::physics
