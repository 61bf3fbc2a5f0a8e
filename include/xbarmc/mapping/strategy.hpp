#pragma once
/// \file
/// Mapping strategies: how a weight layer's logical matrix is placed on physical
/// tiles (row and column permutations, sections, write-verify masks, ADC plans).
/// A strategy is chosen by name (`strategy` key) and runs once per study and arm,
/// before any trial; the physics never depends on which strategy placed a cell.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xbarmc/hardware.hpp"
#include "xbarmc/mapping/mapped_matrix.hpp"

namespace xbarmc {

/// A mapping strategy.
class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  /// Maps W (K x M, row-major; row = input) onto tiles for hardware `hw`.
  virtual MappedMatrix map(const float* W, std::int64_t K, std::int64_t M, const HardwareConfig& hw) const = 0;
};

/// Names accepted by make_strategy(), in the order --help lists them.
std::vector<std::string> strategy_names();

/// The strategy called `name`; InvalidConfig naming the known ones otherwise.
std::unique_ptr<Strategy> make_strategy(const std::string& name);

}  // namespace xbarmc
