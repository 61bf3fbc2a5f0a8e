#pragma once
// A model bound for one batch size with one flag per value, as the planner's value
// classifications (model::boolean_activations, model::same_per_trial_values) give them,
// looked up by value name in tests.
#include <cstddef>
#include <string>
#include <vector>

#include "xbarmc/model/bind.hpp"
#include "xbarmc/model/model.hpp"

namespace xbarmc::testing {

struct ClassifiedValues {
  model::Model m;
  model::BoundGraph bg;
  std::vector<char> flags;  ///< per value of m's graph
  /// The flag of value `name`, or -1 where the graph has no such value.
  char of(const std::string& name) const {
    const auto& names = m.graph().value_names;
    for (std::size_t v = 0; v < names.size(); ++v)
      if (names[v] == name) return flags[v];
    return -1;
  }
};

}  // namespace xbarmc::testing
