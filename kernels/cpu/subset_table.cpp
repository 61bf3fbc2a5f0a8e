// The subset-sum ("Four Russians") crossbar read. Written with GCC vector extensions:
// with -mavx2 (XBARMC_AVX2, the default) each v8f is one AVX register, and the read
// loop is one aligned load-add per table row half.
#include "xbarmc/physics/subset_table.hpp"

#include <algorithm>

namespace xbarmc::physics {

namespace {

typedef float v8f __attribute__((vector_size(32)));
typedef float v8f_unaligned __attribute__((vector_size(32), aligned(4)));

inline void store8(float* p, v8f v) { *reinterpret_cast<v8f_unaligned*>(p) = v; }

// Vector registers per table entry.
constexpr int entry_vectors = table_block_cols / 8;
static_assert(table_block_cols % 8 == 0, "table entries are whole AVX registers");

// One column block of `NP` bit planes for one vector: `o` lists the plane offsets of
// each nonzero group (stride `planes`).
template <int NP>
void read_block(const float* __restrict base, const std::int32_t* __restrict o, int n, int planes,
                float* __restrict out, int stride) {
  // Fully unrolled over planes and entry halves so that the accumulators live in registers.
  v8f acc[NP][entry_vectors];
#pragma GCC unroll 16
  for (int p = 0; p < NP; ++p) {
#pragma GCC unroll 2
    for (int h = 0; h < entry_vectors; ++h) acc[p][h] = v8f{};
  }
  for (int g = 0; g < n; ++g, o += planes) {
#pragma GCC unroll 16
    for (int p = 0; p < NP; ++p) {
      const float* e = base + o[p];
#pragma GCC unroll 2
      for (int h = 0; h < entry_vectors; ++h) {
        acc[p][h] += *reinterpret_cast<const v8f*>(e + 8 * h);  // table entries are 32-byte aligned
      }
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < NP; ++p) {
#pragma GCC unroll 2
    for (int h = 0; h < entry_vectors; ++h) store8(out + p * stride + 8 * h, acc[p][h]);
  }
}

using ReadBlockFn = void (*)(const float*, const std::int32_t*, int, int, float*, int);

ReadBlockFn read_block_for(int np) {
  switch (np) {
    case 1:
      return read_block<1>;
    case 2:
      return read_block<2>;
    case 3:
      return read_block<3>;
    case 4:
      return read_block<4>;
    case 5:
      return read_block<5>;
    case 6:
      return read_block<6>;
    case 7:
      return read_block<7>;
    default:
      return read_block<8>;
  }
}

}  // namespace

void build_subset_table(const float* values, int rows, int cols, SubsetTable& t) {
  t.groups = (rows + table_group_rows - 1) / table_group_rows;
  t.col_blocks = (cols + table_block_cols - 1) / table_block_cols;
  t.sums.assign(static_cast<std::size_t>(t.groups) * t.col_blocks * table_group_floats, 0.0f);
  float row[table_group_rows][table_block_cols];
  for (int cb = 0; cb < t.col_blocks; ++cb) {
    for (int g = 0; g < t.groups; ++g) {
      for (int i = 0; i < table_group_rows; ++i) {
        const int r = g * table_group_rows + i;
        for (int c = 0; c < table_block_cols; ++c) {
          const int col = cb * table_block_cols + c;
          row[i][c] = (r < rows && col < cols) ? values[static_cast<std::size_t>(r) * cols + col] : 0.0f;
        }
      }
      float* e = &t.sums[(static_cast<std::size_t>(cb) * t.groups + g) * table_group_floats];
      for (unsigned s = 1; s < 16; ++s) {
        const unsigned low = s & (0u - s);
        const int i = __builtin_ctz(s);
        const float* prev = e + (s ^ low) * table_block_cols;
        for (int c = 0; c < table_block_cols; ++c) e[s * table_block_cols + c] = prev[c] + row[i][c];
      }
    }
  }
}

void plan_reads(const std::uint16_t* mag, int vectors, int rows, int planes, ReadPlan& plan) {
  const int groups = (rows + table_group_rows - 1) / table_group_rows;
  plan.planes = planes;
  plan.groups = groups;
  plan.offsets.resize(static_cast<std::size_t>(vectors) * groups * planes);
  plan.count.resize(static_cast<std::size_t>(vectors));
  for (int v = 0; v < vectors; ++v) {
    const std::uint16_t* m = mag + static_cast<std::size_t>(v) * rows;
    std::int32_t* o = &plan.offsets[static_cast<std::size_t>(v) * groups * planes];
    int n = 0;
    for (int g = 0; g < groups; ++g) {
      std::uint64_t packed = 0;  // the group's 4 magnitudes in 16-bit lanes
      for (int i = 0; i < table_group_rows; ++i) {
        const int r = g * table_group_rows + i;
        if (r < rows) packed |= static_cast<std::uint64_t>(m[r]) << (16 * i);
      }
      if (packed == 0) continue;
      for (int p = 0; p < planes; ++p) {
        // Bits 0, 16, 32, 48 of x move to bits 45..48 of the product without carries.
        const std::uint64_t x = (packed >> p) & 0x0001000100010001ull;
        const unsigned subset = static_cast<unsigned>((x * 0x0000200040008001ull) >> 45) & 15u;
        o[p] = subset_offset(g, subset);
      }
      o += planes;
      ++n;
    }
    plan.count[v] = n;
  }
}

void subset_read(const SubsetTable& t, const ReadPlan& plan, int vectors, int blocks_used, float* out, int stride) {
  const int planes = plan.planes;
  const std::size_t block_floats = static_cast<std::size_t>(t.groups) * table_group_floats;
  for (int cb = 0; cb < blocks_used; ++cb) {
    const float* base = t.sums.data() + cb * block_floats;
    for (int v = 0; v < vectors; ++v) {
      const std::int32_t* o = &plan.offsets[static_cast<std::size_t>(v) * plan.groups * planes];
      float* dst = out + static_cast<std::size_t>(v) * planes * stride + cb * table_block_cols;
      for (int p0 = 0; p0 < planes; p0 += 8) {
        const int np = std::min(8, planes - p0);
        read_block_for(np)(base, o + p0, plan.count[v], planes, dst + static_cast<std::size_t>(p0) * stride, stride);
      }
    }
  }
}

}  // namespace xbarmc::physics
