#pragma once
// A CUDA-backend setting chosen by an environment variable among named values (host only,
// no CUDA): XBARMC_CUDA_KERNEL, XBARMC_CUDA_SHORT, XBARMC_CUDA_BATCH, XBARMC_CUDA_SHIFT_ADD,
// XBARMC_CUDA_REF.

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>

#include "xbarmc/errors.hpp"

namespace xbarmc::cuda::detail {

/// The value of the option named by environment variable `var`; unset or empty: the first
/// option's. Any other text is refused with InvalidConfig naming the variable, the text,
/// `what` the variable picks and the options, e.g. "XBARMC_CUDA_SHORT: 'five' is not a
/// variant for short tiles; use 4, 3 or narrow".
inline int env_choice(const char* var, const char* what, std::initializer_list<std::pair<const char*, int>> options) {
  const char* e = std::getenv(var);
  const std::string v = e ? e : "";
  if (v.empty()) return options.begin()->second;
  std::string names;
  std::size_t i = 0;
  for (const auto& [name, value] : options) {
    if (v == name) return value;
    if (i > 0) names += i + 1 == options.size() ? " or " : ", ";
    names += name;
    ++i;
  }
  throw InvalidConfig(std::string(var) + ": '" + v + "' is not " + what + "; use " + names);
}

}  // namespace xbarmc::cuda::detail
