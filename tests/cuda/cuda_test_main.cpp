// main() for the CUDA tests: without a usable GPU, exit 77 so ctest reports the
// tests as SKIPPED (never as passed).
#include <gtest/gtest.h>

#include <cstdio>

#include "xbarmc/backend.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Listing the tests needs no GPU (scripts/device-check.sh's filters can be checked anywhere).
  if (!GTEST_FLAG_GET(list_tests) && xbarmc::cuda::device_count() == 0) {
    std::printf("no CUDA device visible: skipping the CUDA tests\n");
    return 77;
  }
  return RUN_ALL_TESTS();
}
