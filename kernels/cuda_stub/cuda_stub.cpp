// Built instead of kernels/cuda when nvcc is absent: the same interface, and a
// clear error instead of a crash when the CUDA backend is asked for.

#include "xbarmc/backend.hpp"
#include "xbarmc/errors.hpp"

namespace xbarmc::cuda {

bool compiled() { return false; }
int device_count() { return 0; }
std::vector<GpuInfo> devices() { return {}; }
std::unique_ptr<Backend> make_backend(int) {
  throw NotCompiled(
      "xbarmc was built without CUDA (no nvcc at configure time); install the CUDA toolkit and "
      "rebuild, or use --backend cpu");
}

}  // namespace xbarmc::cuda
