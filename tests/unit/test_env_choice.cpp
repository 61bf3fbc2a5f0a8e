// The CUDA backend's settings by environment variable (kernels/cuda/env_choice.hpp):
// default, each option, and the refusal that names the variable and the options.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "../../kernels/cuda/env_choice.hpp"
#include "../common/scoped_env.hpp"

using xbarmc::cuda::detail::env_choice;

namespace {
int short_tiles() {
  return env_choice("XBARMC_TEST_CHOICE", "a variant for short tiles", {{"4", 4}, {"3", 3}, {"narrow", 0}});
}
}  // namespace

TEST(EnvChoice, UnsetOrEmptyGivesTheFirstOption) {
  unsetenv("XBARMC_TEST_CHOICE");
  EXPECT_EQ(short_tiles(), 4);
  const xbarmc::testing::ScopedEnv env("XBARMC_TEST_CHOICE", "");
  EXPECT_EQ(short_tiles(), 4);
}

TEST(EnvChoice, EachOptionGivesItsValue) {
  for (const auto& [name, value] : {std::pair{"4", 4}, {"3", 3}, {"narrow", 0}}) {
    const xbarmc::testing::ScopedEnv env("XBARMC_TEST_CHOICE", name);
    EXPECT_EQ(short_tiles(), value) << name;
  }
}

TEST(EnvChoice, OtherTextIsRefusedNamingTheVariableAndTheOptions) {
  const xbarmc::testing::ScopedEnv env("XBARMC_TEST_CHOICE", "Narrow");
  try {
    short_tiles();
    FAIL() << "'Narrow' was taken";
  } catch (const xbarmc::InvalidConfig& e) {
    EXPECT_EQ(std::string(e.what()),
              "XBARMC_TEST_CHOICE: 'Narrow' is not a variant for short tiles; use 4, 3 or narrow");
  }
}
