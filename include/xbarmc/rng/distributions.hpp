#pragma once
/// \file
/// Conversions of raw Philox words into distributions, shared by host and device.
/// Uniforms never return 0 (so log() is safe). Bernoulli decisions compare the raw
/// word with an integer threshold computed once on the host, so the CPU and the
/// GPU take identical integer decisions; continuous draws agree within rounding of
/// the math library (log, cos, exp), which the tests bound.

#include <cmath>
#include <cstdint>

#include "xbarmc/hd.hpp"

namespace xbarmc::rng {

/// Uniform float in (0, 1]: u * 2^-32 + 2^-33 (Random123's u01 convention).
XBARMC_HD float u01f(std::uint32_t u) { return static_cast<float>(u) * 0x1p-32f + 0x1p-33f; }

/// Uniform double in (0, 1) from one word: u * 2^-32 + 2^-33 (exact in double).
XBARMC_HD double u01d(std::uint32_t u) { return static_cast<double>(u) * 0x1p-32 + 0x1p-33; }

/// Uniform double in (0, 1) with 52 random bits from two words (the largest value,
/// 1 - 2^-53, is still below 1).
XBARMC_HD double u01d(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 12;
  return static_cast<double>(bits) * 0x1p-52 + 0x1p-53;
}

/// Standard normal from two words (Box-Muller, cosine branch), in double.
XBARMC_HD double normal(std::uint32_t a, std::uint32_t b) {
  const double r = std::sqrt(-2.0 * std::log(u01d(a)));
  return r * std::cos(6.283185307179586476925 * u01d(b));
}

/// Standard normal from two words in float (the fast path for per-cell variation).
XBARMC_HD float normalf(std::uint32_t a, std::uint32_t b) {
  const float r = std::sqrt(-2.0f * std::log(u01f(a)));
  return r * std::cos(6.2831853071795864769f * u01f(b));
}

/// Lognormal factor exp(sigma * z) with median 1.
XBARMC_HD double lognormal_factor(double sigma, double z) { return std::exp(sigma * z); }

/// Bernoulli(p) decision from a raw word and a threshold from bernoulli_threshold(p):
/// true with probability threshold / 2^32 exactly.
XBARMC_HD bool bernoulli(std::uint32_t u, std::uint64_t threshold) { return u < threshold; }

/// Integer threshold for bernoulli(): round(p * 2^32), in [0, 2^32]. Host only;
/// throws InvalidConfig when p is not in [0, 1] (`what` names the key).
std::uint64_t bernoulli_threshold(double p, const char* what = "probability");

/// Threshold pair for a three-way decision on one word (e.g. stuck-off, stuck-on,
/// healthy): u < t.first -> first outcome, t.first <= u < t.second -> second.
struct Thresholds2 {
  std::uint64_t first;
  std::uint64_t second;
};

/// Thresholds for two disjoint events of probabilities p1, p2 (p1 + p2 <= 1) on one word.
Thresholds2 bernoulli_thresholds(double p1, double p2, const char* what1, const char* what2);

}  // namespace xbarmc::rng
