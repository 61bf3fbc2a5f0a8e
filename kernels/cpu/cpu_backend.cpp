#include <omp.h>

#include <fmt/format.h>

#include "xbarmc/backend.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/montecarlo/trials.hpp"
#include "xbarmc/rng/counter.hpp"

namespace xbarmc {

int resolve_threads(int threads) {
  if (threads < 0) throw InvalidConfig(fmt::format("threads: must be >= 0 (0 = all cores), got {}", threads));
  return threads == 0 ? omp_get_num_procs() : threads;
}

namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : threads_(resolve_threads(threads)) {}
  BackendKind kind() const override { return BackendKind::cpu; }
  std::string name() const override { return "cpu"; }
  std::string device() const override { return fmt::format("{} CPU thread{}", threads_, threads_ == 1 ? "" : "s"); }

  void draw_raw(const RawDrawRequest& r, std::uint32_t* out) override {
    const std::int64_t n = static_cast<std::int64_t>(r.trial_count) * r.element_count;
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const auto t = static_cast<std::uint32_t>(i / r.element_count);
      const auto e = static_cast<std::uint32_t>(i % r.element_count);
      const rng::Block b = rng::draw_block(r.seed, r.purpose, r.trial_first + t, r.layer, r.tile, e);
      for (int w = 0; w < 4; ++w) out[i * 4 + w] = b.v[w];
    }
  }

  void run_trials(const montecarlo::Study& study, std::uint32_t first, std::uint32_t count,
                  const montecarlo::RunControl& control, std::vector<montecarlo::TrialRecord>& out) override {
    montecarlo::RunControl c = control;
    if (c.threads == 0) c.threads = threads_;
    montecarlo::run_trials_cpu(study, first, count, c, out);
  }

 private:
  int threads_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace xbarmc
