#pragma once
// Random123's published Philox4x32-10 known-answer vectors (kat_vectors), shared
// by the CPU and the CUDA tests: counter (4 words), key (2 words), expected output.
#include "xbarmc/rng/philox.hpp"

namespace xbarmc::test {

struct PhiloxKat {
  const char* name;
  rng::Counter counter;
  rng::Key key;
  rng::Block expected;
};

inline constexpr PhiloxKat philox_kat_vectors[] = {
    {"zeros", {{0, 0, 0, 0}}, {{0, 0}}, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
    {"ones",
     {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
     {{0xffffffff, 0xffffffff}},
     {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
    {"pi",
     {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
     {{0xa4093822, 0x299f31d0}},
     {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
};

}  // namespace xbarmc::test
