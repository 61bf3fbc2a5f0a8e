#pragma once
/// \file
/// Logical coordinates of a random draw, packed into a Philox counter. The key is
/// the run's seed; the counter says what the draw is for, never which thread made
/// it, so results do not depend on thread count, batch size, backend or sharding.
///
/// Counter words (word 0 least significant):
///   v[0] = element   (e.g. the cell index row * cols + col inside a tile)
///   v[1] = layer << 20 | tile   (layer < 4096, tile < 2^20)
///   v[2] = trial     (one chip instance)
///   v[3] = purpose << 24 | draw   (draw < 2^24: which block of four words)
/// Purposes are separate streams: adding draws for one purpose never moves another.

#include <cstdint>

#include "xbarmc/hd.hpp"
#include "xbarmc/rng/philox.hpp"

namespace xbarmc::rng {

/// What a stream of draws is for. Values are part of the reproducibility contract:
/// never renumber, only append.
enum class Purpose : std::uint32_t {
  test = 0,           ///< unit tests and self-checks
  fault_map = 1,      ///< stuck-off / stuck-on decisions per cell and trial
  programming = 2,    ///< programming (write) variation per cell and trial
  read_noise = 3,     ///< read noise per read
  image_subset = 4,   ///< random sample of evaluation images
  bit_stucking = 5,   ///< which changed cells a reprogramming rewrites
  tile_instance = 6,  ///< random tiles and inputs drawn by `xbarmc tile`
  calibration = 7,    ///< calibration image choice
  bootstrap = 8,      ///< resampling in statistics
};

constexpr std::uint32_t max_layers = 1u << 12;
constexpr std::uint32_t max_tiles_per_layer = 1u << 20;
constexpr std::uint32_t max_draws = 1u << 24;

/// Packs logical coordinates into a counter (see the file comment for the layout).
/// Callers keep layer < max_layers, tile < max_tiles_per_layer, draw < max_draws;
/// host code checks this once per layer (rng::check_coordinates).
XBARMC_HD Counter make_counter(Purpose purpose, std::uint32_t trial, std::uint32_t layer, std::uint32_t tile,
                               std::uint32_t element, std::uint32_t draw = 0) {
  return Counter{{element, (layer << 20) | (tile & (max_tiles_per_layer - 1)), trial,
                  (static_cast<std::uint32_t>(purpose) << 24) | (draw & (max_draws - 1))}};
}

/// The four words for the given coordinates under `seed`.
XBARMC_HD Block draw_block(std::uint64_t seed, Purpose purpose, std::uint32_t trial, std::uint32_t layer,
                           std::uint32_t tile, std::uint32_t element, std::uint32_t draw = 0) {
  return philox4x32_10(make_counter(purpose, trial, layer, tile, element, draw), key_from_seed(seed));
}

/// Throws InvalidConfig when coordinates do not fit the counter layout (host only).
void check_coordinates(std::uint64_t layer, std::uint64_t tiles, std::uint64_t draws = 1);

}  // namespace xbarmc::rng
