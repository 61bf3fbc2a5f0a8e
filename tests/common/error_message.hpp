#pragma once
// The message of an expected exception, for tests of error texts.
#include <gtest/gtest.h>

#include <exception>
#include <string>

namespace xbarmc::testing {

/// The message of the E that `f` throws, or "" when it throws nothing (any other
/// exception propagates and fails the test).
template <typename E, typename F>
std::string message_or_empty(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

/// The message of the E that `f` must throw: a test failure (and "") when it throws
/// nothing or another exception type.
template <typename E, typename F>
std::string thrown_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

}  // namespace xbarmc::testing
