#pragma once
/// \file
/// Read noise: each cell current of a read carries independent relative Gaussian noise
/// of standard deviation read_noise. Their sum on column c is Gaussian with standard
/// deviation read_noise * sqrt(sum_r (V_r G[r][c])^2), so one draw per column and read
/// is exact: in level units, sigma_s = read_noise * sqrt(sum_r (d_r geff[r][c] / dg)^2).

#include <cstdint>

#include "xbarmc/hd.hpp"
#include "xbarmc/rng/counter.hpp"
#include "xbarmc/rng/distributions.hpp"

namespace xbarmc::physics {

/// The standard normal of physical column `col` (of `cols`) of tile `tile` in step
/// `step` (of `steps`) of phase `phase` of the input vector with global index
/// `vector_index` (< 2^32): Purpose::read_noise, element = vector_index, draw =
/// ((phase * steps + step) * cols + col) / 2, words (0, 1) for even col, (2, 3) for odd.
XBARMC_HD float read_noise_z(std::uint64_t seed, std::uint32_t trial, std::uint32_t layer, std::uint32_t tile,
                             std::uint32_t vector_index, int phase, int step, int steps, int cols, int col) {
  const std::uint32_t k = static_cast<std::uint32_t>((phase * steps + step) * cols + col);
  const rng::Block b = rng::draw_block(seed, rng::Purpose::read_noise, trial, layer, tile, vector_index, k >> 1);
  return (k & 1u) ? rng::normalf(b.v[2], b.v[3]) : rng::normalf(b.v[0], b.v[1]);
}

}  // namespace xbarmc::physics
