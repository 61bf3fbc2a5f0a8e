// Backend selection and errors.
#include <gtest/gtest.h>

#include "xbarmc/backend.hpp"
#include "xbarmc/errors.hpp"

using namespace xbarmc;

TEST(Backend, CpuAndAuto) {
  BackendOptions o;
  o.choice = "cpu";
  o.threads = 1;
  auto b = make_backend(o);
  EXPECT_EQ(b->name(), "cpu");
  EXPECT_EQ(b->device(), "1 CPU thread");
  o.choice = "auto";
  auto a = make_backend(o);
  EXPECT_EQ(a->name(), cuda::device_count() > 0 ? "cuda" : "cpu");
}

TEST(Backend, CudaWithoutDeviceIsAClearError) {
  if (cuda::device_count() > 0) GTEST_SKIP() << "a GPU is present";
  BackendOptions o;
  o.choice = "cuda";
  try {
    make_backend(o);
    FAIL() << "expected an error";
  } catch (const NoDevice& e) {
    EXPECT_TRUE(cuda::compiled());
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos);
  } catch (const NotCompiled& e) {
    EXPECT_FALSE(cuda::compiled());
    EXPECT_NE(std::string(e.what()).find("built without CUDA"), std::string::npos);
  }
}

TEST(Backend, BadChoiceAndThreads) {
  BackendOptions o;
  o.choice = "tpu";
  EXPECT_THROW(make_backend(o), InvalidConfig);
  EXPECT_THROW(resolve_threads(-1), InvalidConfig);
  EXPECT_GE(resolve_threads(0), 1);
}

TEST(Errors, ExitCodes) {
  EXPECT_EQ(InvalidConfig("x").exit_code(), 2);
  EXPECT_EQ(Error("x").exit_code(), 1);
  EXPECT_EQ(InvalidInput("f.onnx", "truncated").exit_code(), 1);
  EXPECT_EQ(std::string(InvalidInput("f.onnx", "truncated").what()), "f.onnx: truncated");
  EXPECT_EQ(std::string(CudaError("boom", "a.cu", 7).what()), "a.cu:7: boom");
}
