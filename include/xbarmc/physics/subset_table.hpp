#pragma once
/// \file
/// The fast crossbar read ("Four Russians"): a bit-serial read drives each row with 0
/// or 1, so a column sum over a group of 4 rows takes one of 16 values. For each group
/// and block of table_block_cols columns the table holds all 16 subset sums of the rows' effective
/// levels, built once per chip instance; a read then adds one table row per group
/// whose inputs are not all zero: 4x fewer additions than a matrix product and exact
/// up to float summation order. A multi-bit DAC code is split into bit planes, one
/// binary read each, recombined with weights 2^t.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace xbarmc::physics {

/// A std::allocator returning 64-byte aligned memory (cache lines, AVX loads).
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { std::free(p); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const AlignedAllocator<U>&) const {
    return false;
  }
};

/// A 64-byte aligned vector.
template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

/// Rows per group of the subset table.
constexpr int table_group_rows = 4;
/// Columns per block of the subset table.
constexpr int table_block_cols = 16;
/// Floats per (group, block): 16 subsets x table_block_cols columns.
constexpr int table_group_floats = 16 * table_block_cols;

/// Subset sums of one tile: sums[((block * groups + group) * 16 + subset) * table_block_cols + col].
struct SubsetTable {
  AlignedVector<float> sums;
  int groups = 0;      ///< ceil(rows / table_group_rows)
  int col_blocks = 0;  ///< ceil(cols / table_block_cols)
};

/// Builds the table from a rows x cols row-major matrix (rows past `rows` count as 0).
void build_subset_table(const float* values, int rows, int cols, SubsetTable& table);

/// Offset (in floats, within one column block) of group `group`'s entry for `subset`.
inline std::int32_t subset_offset(int group, unsigned subset) {
  return static_cast<std::int32_t>(group * table_group_floats + subset * table_block_cols);
}

/// Per-vector read description for subset_read(): the groups with a nonzero input and,
/// for each, the subset offset of every bit plane.
struct ReadPlan {
  std::vector<std::int32_t> offsets;  ///< vectors x groups x planes (only the first count[v] groups used)
  std::vector<std::int32_t> count;    ///< nonzero groups per vector
  int planes = 0;
  int groups = 0;
};

/// Fills plan for `vectors` vectors of `rows` row magnitudes each (mag[v * rows + r] <
/// 2^planes, planes <= 16).
void plan_reads(const std::uint16_t* mag, int vectors, int rows, int planes, ReadPlan& plan);

/// out[(v * planes + p) * stride + c] = sum over rows with bit p of their magnitude set of
/// the table values, for columns c < table_block_cols * blocks_used (stride >= that, a multiple of
/// table_block_cols).
void subset_read(const SubsetTable& table, const ReadPlan& plan, int vectors, int blocks_used, float* out, int stride);

}  // namespace xbarmc::physics
