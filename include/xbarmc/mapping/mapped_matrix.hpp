#pragma once
/// \file
/// A logical weight matrix W (K inputs x M outputs) mapped onto crossbar tiles:
/// quantized symmetrically, sign-encoded (differential or offset), bit-sliced into
/// cell levels, and placed on rows x cols tiles. Mapping is a separate step from the
/// physics: a strategy only decides the placement (TileMap::row_of and col_role);
/// fill_tile_levels() then writes the levels, so every strategy encodes alike.
///
/// The naive strategy: rows are split into row tiles of `rows` inputs in order; each
/// logical column occupies slices x signs contiguous physical columns (slice k, sign s
/// at offset k * signs + s, s = 0 positive, 1 negative), never split over tiles; a
/// column tile holds floor(cols / (slices * signs)) logical columns in order.

#include <cstdint>
#include <vector>

#include "xbarmc/hardware.hpp"
#include "xbarmc/quant.hpp"

namespace xbarmc {

/// What a physical column holds: slice `slice` (0 = least significant) of the sign
/// `sign` (+1 or -1) part of logical column `logical`; logical = -1 for an unused column.
struct ColumnRole {
  std::int32_t logical = -1;
  std::int16_t slice = 0;
  std::int8_t sign = +1;
};

/// One tile of a mapped matrix.
struct TileMap {
  int row_tile = 0;
  int col_tile = 0;
  std::vector<std::int32_t> row_of;        ///< rows entries: physical row -> logical input k, -1 = unused
  std::vector<ColumnRole> col_role;        ///< cols entries
  std::vector<std::uint8_t> level;         ///< rows * cols nominal cell levels (row-major)
  std::vector<std::uint8_t> write_verify;  ///< rows * cols 0/1; empty = no cell write-verified
  std::vector<float> adc_full_scale;       ///< per physical column, level units (see physics/adc.hpp)

  /// Number of rows holding an input.
  int rows_used() const;
};

/// A weight matrix on tiles.
struct MappedMatrix {
  std::int64_t K = 0;  ///< inputs (rows of W)
  std::int64_t M = 0;  ///< outputs (columns of W)
  HardwareConfig hw;
  std::vector<float> weight_scale;        ///< M entries: real value of one weight code per output
  std::vector<std::int32_t> weight_code;  ///< K x M quantized weights q_W (row-major), the digital reference
  int n_row_tiles = 0;
  int n_col_tiles = 0;
  std::vector<TileMap> tiles;   ///< index row_tile * n_col_tiles + col_tile (the RNG tile coordinate)
  bool adc_calibrated = false;  ///< calibrate_adc() has set the full scales (needed for adc_range = calibrated)
};

/// Weight codes and scales of W (K x M, row-major), symmetric, per output column or per
/// layer (hw.weight_scale), with quant::weight_quantizer.
struct QuantizedWeights {
  std::vector<std::int32_t> code;  ///< K x M
  std::vector<float> scale;        ///< M (the same value M times for weight_scale = layer)
};
QuantizedWeights quantize_weights(const float* W, std::int64_t K, std::int64_t M, const HardwareConfig& hw);

/// Cell level of weight code `code` in the physical column of slice `slice` and sign
/// `sign` (+1/-1): differential stores |code| in the column of its sign, 0 in the other;
/// offset stores u = code + 2^(weight_bits-1) - 1; slice k holds bits [k*bpc, (k+1)*bpc).
int encode_level(std::int32_t code, int slice, int sign, const HardwareConfig& hw);

/// Writes tile.level from the placement (row_of, col_role) and the weight codes, and
/// sets the ADC full scales of range `max`.
void fill_tile_levels(TileMap& tile, const QuantizedWeights& q, std::int64_t M, const HardwareConfig& hw);

/// The naive mapping (see the file comment). Validates hw; throws InvalidConfig when the
/// matrix needs more tiles than the random-counter layout addresses.
MappedMatrix map_naive(const float* W, std::int64_t K, std::int64_t M, const HardwareConfig& hw);

/// Sets each physical column's ADC full scale to the hw.adc_percentile percentile
/// (nearest rank) of its ideal level-domain signals s_c = sum_r d_r level[r][c] over
/// every read (phase, step) of the n calibration vectors X (n x K), at least 1. Marks
/// the matrix calibrated. Needed before crossbar_matmul when adc_range = calibrated.
void calibrate_adc(MappedMatrix& m, const float* X, std::int64_t n, const quant::Quantizer& xq);

/// The exact integer reference: out[i * M + m] = sum_k q_x[i][k] * q_W[k][m] (int64),
/// q_x = xq.quantize(X). The digital quantized baseline, and the oracle for ideal hardware.
void integer_matmul(const MappedMatrix& m, const quant::Quantizer& xq, const float* X, std::int64_t n,
                    std::int64_t* out);

}  // namespace xbarmc
