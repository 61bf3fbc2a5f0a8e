// `xbarmc info`: the build, the compiled backends and the GPUs this machine shows.
#include <iostream>

#include <fmt/format.h>

#include <omp.h>
#include <nlohmann/json.hpp>
#include "xbarmc_build_info.hpp"

#include "xbarmc/app/cli.hpp"
#include "xbarmc/app/keys.hpp"
#include "xbarmc/backend.hpp"
#include "xbarmc/version.hpp"

namespace xbarmc::app {

namespace {

int run_info(const config::ParsedCommand& cmd) {
  const auto gpus = cuda::devices();
  nlohmann::json j;
  j["version"] = build::version();
  j["git_commit"] = build::git_commit();
  j["cuda_compiled"] = build::cuda_compiled();
  j["cuda_architectures"] = build::cuda_architectures();
  j["backends"] = build::cuda_compiled() ? nlohmann::json{"cpu", "cuda"} : nlohmann::json{"cpu"};
  j["cpu_threads"] = omp_get_num_procs();
  j["compiler"] = fmt::format("{} {}", XBARMC_COMPILER_ID, XBARMC_COMPILER_VERSION);
  j["build_type"] = XBARMC_BUILD_TYPE;
  j["gpus"] = nlohmann::json::array();
  for (const auto& g : gpus) {
    j["gpus"].push_back({{"index", g.index},
                         {"name", g.name},
                         {"compute_capability", fmt::format("{}.{}", g.cc_major, g.cc_minor)},
                         {"multiprocessors", g.multiprocessors},
                         {"memory_bytes", g.total_bytes},
                         {"free_bytes", g.free_bytes}});
  }
  if (cmd.settings.get_bool("json")) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << build::version_line() << "\n";
  std::cout << fmt::format("  build type     {} ({})\n", XBARMC_BUILD_TYPE, j["compiler"].get<std::string>());
  std::cout << fmt::format("  backends       cpu{}\n", build::cuda_compiled()
                                                           ? fmt::format(", cuda (sm {})", build::cuda_architectures())
                                                           : std::string("  (cuda: not compiled)"));
  std::cout << fmt::format("  CPU threads    {}\n", omp_get_num_procs());
  std::cout << fmt::format("  GPUs seen      {}\n", gpus.size());
  for (const auto& g : gpus) {
    std::cout << fmt::format("    GPU {}: {} (compute capability {}.{}, {} SMs, {:.1f} GiB, {:.1f} GiB free)\n",
                             g.index, g.name, g.cc_major, g.cc_minor, g.multiprocessors, g.total_bytes / 1073741824.0,
                             g.free_bytes / 1073741824.0);
  }
  return 0;
}

}  // namespace

Command make_info_command() {
  Command c;
  c.spec.name = "info";
  c.spec.summary = "print the build, the compiled backends and the GPUs seen";
  c.spec.usage = "xbarmc info [--json]";
  c.spec.schema.merge(json_key());
  c.run = run_info;
  return c;
}

}  // namespace xbarmc::app
