#include "xbarmc/mapping/strategy.hpp"

#include <fmt/format.h>

#include "xbarmc/errors.hpp"

namespace xbarmc {

namespace {

/// Layer order, no permutation (map_naive).
class NaiveStrategy final : public Strategy {
 public:
  std::string name() const override { return "naive"; }
  MappedMatrix map(const float* W, std::int64_t K, std::int64_t M, const HardwareConfig& hw) const override {
    return map_naive(W, K, M, hw);
  }
};

}  // namespace

std::vector<std::string> strategy_names() { return {"naive"}; }

std::unique_ptr<Strategy> make_strategy(const std::string& name) {
  if (name == "naive") return std::make_unique<NaiveStrategy>();
  std::string known;
  for (const auto& n : strategy_names()) known += (known.empty() ? "" : ", ") + n;
  throw InvalidConfig(fmt::format("strategy: '{}' is not a known mapping strategy; known: {}", name, known));
}

}  // namespace xbarmc
