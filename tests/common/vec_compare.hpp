#pragma once
// Element-wise comparison of float vectors with a message naming the first mismatch.

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace xbarmc::testing {

/// |a - e| <= tol for every element (and equal sizes).
inline ::testing::AssertionResult all_near(const std::vector<float>& a, const std::vector<float>& e, double tol) {
  if (a.size() != e.size()) return ::testing::AssertionFailure() << "size " << a.size() << ", expected " << e.size();
  for (std::size_t k = 0; k < a.size(); ++k)
    if (!(std::fabs(static_cast<double>(a[k]) - e[k]) <= tol))
      return ::testing::AssertionFailure()
             << "element " << k << ": " << a[k] << ", expected " << e[k] << " (tolerance " << tol << ")";
  return ::testing::AssertionSuccess();
}

}  // namespace xbarmc::testing
