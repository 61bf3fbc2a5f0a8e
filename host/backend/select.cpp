#include <fmt/format.h>

#include "xbarmc/backend.hpp"
#include "xbarmc/errors.hpp"

namespace xbarmc {

std::unique_ptr<Backend> make_backend(const BackendOptions& options) {
  if (options.choice == "cpu") return make_cpu_backend(options.threads);
  if (options.choice == "cuda") {
    if (!cuda::compiled()) {
      throw NotCompiled(
          "backend: cuda was asked for, but xbarmc was built without CUDA (no nvcc at configure "
          "time); rebuild with the CUDA toolkit installed, or use --backend cpu");
    }
    if (cuda::device_count() == 0) {
      throw NoDevice(
          "backend: cuda was asked for, but no CUDA device is visible (0 GPUs); use --backend cpu or "
          "--backend auto");
    }
    return cuda::make_backend(options.gpu);
  }
  if (options.choice == "auto") {
    if (cuda::compiled() && cuda::device_count() > 0) return cuda::make_backend(options.gpu);
    return make_cpu_backend(options.threads);
  }
  throw InvalidConfig(fmt::format("backend: '{}' is not allowed; choose one of: auto, cpu, cuda", options.choice));
}

}  // namespace xbarmc
