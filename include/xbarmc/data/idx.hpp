#pragma once
/// \file
/// IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or plain: a
/// big-endian header (0, 0, type, rank, rank dims) followed by the data.

#include <cstdint>
#include <string>
#include <vector>

namespace xbarmc::data {

/// An IDX array converted to float (values as stored: bytes 0..255 stay 0..255).
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<float> values;
  bool is_uint8 = false;  ///< stored as unsigned bytes (images: scale by 1/255)
};

/// Reads a whole file, gunzipping it when it starts with the gzip magic. Throws
/// InvalidInput naming the file when it cannot be read or the gzip stream is damaged.
std::string read_maybe_gzip(const std::string& path);

/// Reads an IDX file. A bad magic number, an unknown type code, or fewer data bytes
/// than the header announces (a truncated file) throws InvalidInput naming the file.
IdxArray read_idx(const std::string& path);

}  // namespace xbarmc::data
