#include "xbarmc/rng/distributions.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"
#include "xbarmc/rng/counter.hpp"

namespace xbarmc::rng {

std::uint64_t bernoulli_threshold(double p, const char* what) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw InvalidConfig(fmt::format("{}: must be a probability in [0, 1], got {}", what, p));
  }
  const double t = std::nearbyint(std::ldexp(p, 32));
  return static_cast<std::uint64_t>(t);
}

Thresholds2 bernoulli_thresholds(double p1, double p2, const char* what1, const char* what2) {
  const std::uint64_t t1 = bernoulli_threshold(p1, what1);
  const std::uint64_t t2 = bernoulli_threshold(p2, what2);
  if (t1 + t2 > (std::uint64_t{1} << 32)) {
    throw InvalidConfig(fmt::format("{} + {} must not exceed 1, got {} + {}", what1, what2, p1, p2));
  }
  return Thresholds2{t1, t1 + t2};
}

void check_coordinates(std::uint64_t layer, std::uint64_t tiles, std::uint64_t draws) {
  if (layer >= max_layers) {
    throw InvalidConfig(
        fmt::format("the network has more than {} crossbar layers (layer index {}); the random "
                    "counter layout allows at most {}",
                    max_layers, layer, max_layers));
  }
  if (tiles > max_tiles_per_layer) {
    throw InvalidConfig(
        fmt::format("layer {} needs {} tiles; at most {} per layer are addressable (use larger "
                    "rows/cols)",
                    layer, tiles, max_tiles_per_layer));
  }
  if (draws > max_draws) {
    throw InvalidConfig(fmt::format("{} draws per element exceed the counter layout's {}", draws, max_draws));
  }
}

}  // namespace xbarmc::rng
