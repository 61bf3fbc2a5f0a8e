#pragma once
/// \file
/// Philox4x32-10 (Salmon et al., SC'11; Random123), a counter-based generator:
/// every 128-bit counter and 64-bit key give four independent 32-bit words, so
/// any draw can be computed from its logical coordinates alone, on any thread,
/// on the CPU or the GPU, in any order. See rng/counter.hpp for the coordinates.

#include <cstdint>

#include "xbarmc/hd.hpp"

namespace xbarmc::rng {

/// 128-bit Philox counter (word 0 is the least significant).
struct Counter {
  std::uint32_t v[4];
};

/// 64-bit Philox key.
struct Key {
  std::uint32_t v[2];
};

/// Four 32-bit random words.
struct Block {
  std::uint32_t v[4];
};

namespace detail {
constexpr std::uint32_t philox_m0 = 0xD2511F53u;
constexpr std::uint32_t philox_m1 = 0xCD9E8D57u;
constexpr std::uint32_t philox_w0 = 0x9E3779B9u;  // golden ratio
constexpr std::uint32_t philox_w1 = 0xBB67AE85u;  // sqrt(3) - 1

XBARMC_HD void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
#if XBARMC_DEVICE_CODE && defined(__CUDA_ARCH__)
  lo = a * b;
  hi = __umulhi(a, b);
#else
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
#endif
}

XBARMC_HD void philox_round(std::uint32_t (&c)[4], const std::uint32_t (&k)[2]) {
  std::uint32_t hi0, lo0, hi1, lo1;
  mulhilo(philox_m0, c[0], hi0, lo0);
  mulhilo(philox_m1, c[2], hi1, lo1);
  const std::uint32_t n0 = hi1 ^ c[1] ^ k[0];
  const std::uint32_t n2 = hi0 ^ c[3] ^ k[1];
  c[0] = n0;
  c[1] = lo1;
  c[2] = n2;
  c[3] = lo0;
}
}  // namespace detail

/// Philox4x32 with `rounds` rounds (10 is the standard, crush-resistant choice).
template <int rounds = 10>
XBARMC_HD Block philox4x32(Counter ctr, Key key) {
  std::uint32_t c[4] = {ctr.v[0], ctr.v[1], ctr.v[2], ctr.v[3]};
  std::uint32_t k[2] = {key.v[0], key.v[1]};
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int r = 0; r < rounds; ++r) {
    if (r > 0) {
      k[0] += detail::philox_w0;
      k[1] += detail::philox_w1;
    }
    detail::philox_round(c, k);
  }
  return Block{{c[0], c[1], c[2], c[3]}};
}

/// The standard Philox4x32-10.
XBARMC_HD Block philox4x32_10(Counter ctr, Key key) { return philox4x32<10>(ctr, key); }

/// Key from a 64-bit seed (low word first).
XBARMC_HD Key key_from_seed(std::uint64_t seed) {
  return Key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
}

}  // namespace xbarmc::rng
