#include "xbarmc/version.hpp"

#include <fmt/format.h>

#include "xbarmc_build_info.hpp"

namespace xbarmc::build {

const char* version() { return XBARMC_VERSION; }

bool cuda_compiled() {
#if XBARMC_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

const char* cuda_architectures() { return XBARMC_CUDA_ARCHS; }

std::string version_line() {
  return fmt::format("xbarmc {} (commit {}, {})", version(), git_commit(),
                     cuda_compiled() ? fmt::format("CUDA compiled for sm {}", cuda_architectures())
                                     : std::string("built without CUDA"));
}

}  // namespace xbarmc::build
