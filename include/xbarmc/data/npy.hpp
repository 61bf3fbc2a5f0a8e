#pragma once
/// \file
/// NumPy .npy files (format versions 1 to 3, C order, little-endian): uint8, int8,
/// int16/32/64, uint16/32/64, float32 and float64 arrays in; float32 arrays out.

#include <cstdint>
#include <string>
#include <vector>

namespace xbarmc::data {

/// An .npy array converted to float.
struct NpyArray {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
  std::string dtype;      ///< numpy descr, e.g. "|u1", "<f4"
  bool is_uint8 = false;  ///< stored as unsigned bytes (images: scale by 1/255)
  bool is_integer = false;
};

/// Reads an .npy file; a bad header, an unsupported dtype, Fortran order or a truncated
/// file throws InvalidInput naming the file.
NpyArray read_npy(const std::string& path);

/// The bytes of a float32 .npy file (version 1.0) holding `values` with `shape`.
std::string npy_bytes(const std::vector<std::int64_t>& shape, const float* values);

/// Writes a float32 .npy file atomically (io::write_file_atomic).
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const float* values);

}  // namespace xbarmc::data
