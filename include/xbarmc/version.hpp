#pragma once
/// \file
/// Build provenance: version, git commit and which backends were compiled.

#include <string>

namespace xbarmc::build {

/// Semantic version of this build, e.g. "0.1.0".
const char* version();
/// Short git commit of the source tree at build time ("unknown" outside git, "-dirty" suffix
/// for uncommitted changes).
const char* git_commit();
/// True when the CUDA backend was compiled in (nvcc was found at configure time).
bool cuda_compiled();
/// CUDA architectures the backend was compiled for ("" without CUDA).
const char* cuda_architectures();
/// One line: "xbarmc 0.1.0 (commit abc, CUDA compiled for 80;90)".
std::string version_line();

}  // namespace xbarmc::build
