#include "xbarmc/data/npy.hpp"

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "xbarmc/data/idx.hpp"
#include "xbarmc/errors.hpp"
#include "xbarmc/io/atomic_file.hpp"

namespace xbarmc::data {

namespace {

template <typename T>
void convert(const char* p, std::int64_t n, std::vector<float>& out) {
  out.resize(n);
  for (std::int64_t k = 0; k < n; ++k) {
    T v;
    std::memcpy(&v, p + k * sizeof(T), sizeof(T));
    out[k] = static_cast<float>(v);
  }
}

}  // namespace

static NpyArray read_npy_unchecked(const std::string& path);

NpyArray read_npy(const std::string& path) {
  try {
    return read_npy_unchecked(path);
  } catch (const std::logic_error&) {  // std::stoll and friends on a garbled header
    throw InvalidInput(path, "the .npy header cannot be parsed");
  }
}

static NpyArray read_npy_unchecked(const std::string& path) {
  const std::string b = read_maybe_gzip(path);
  static const char magic[] = "\x93NUMPY";
  if (b.size() < 10 || b.compare(0, 6, magic, 6) != 0) throw InvalidInput(path, "not a NumPy .npy file (bad magic)");
  const int major = static_cast<unsigned char>(b[6]);
  std::size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw InvalidInput(path, "truncated .npy header");
    header_len = 0;
    for (int q = 3; q >= 0; --q) header_len = (header_len << 8) | static_cast<unsigned char>(b[8 + q]);
    offset = 12;
  } else {
    throw InvalidInput(path, fmt::format(".npy format version {} is not supported (1 to 3 are)", major));
  }
  if (b.size() < offset + header_len) throw InvalidInput(path, "truncated .npy header");
  const std::string header = b.substr(offset, header_len);
  std::smatch m;
  NpyArray a;
  if (!std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']*)'")))
    throw InvalidInput(path, "the .npy header has no descr");
  a.dtype = m[1];
  if (std::regex_search(header, m, std::regex("'fortran_order'\\s*:\\s*True")))
    throw InvalidInput(path, "Fortran-ordered .npy arrays are not supported; save with numpy.ascontiguousarray");
  if (!std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")))
    throw InvalidInput(path, "the .npy header has no shape");
  std::int64_t count = 1;
  {
    std::stringstream ss(m[1].str());
    std::string item;
    while (std::getline(ss, item, ',')) {
      const auto first = item.find_first_not_of(" \t");
      if (first == std::string::npos) continue;
      const std::int64_t d = std::stoll(item.substr(first));
      a.shape.push_back(d);
      count *= d;
    }
  }
  const std::string& d = a.dtype;
  if (d.size() < 3 || d[0] == '>')
    throw InvalidInput(path, fmt::format("dtype '{}' is not supported (little-endian "
                                         "or byte types are)",
                                         d));
  const std::string t = d.substr(1);
  std::size_t elem = std::stoul(t.substr(1));
  const std::size_t data_off = offset + header_len;
  if (b.size() - data_off < static_cast<std::size_t>(count) * elem)
    throw InvalidInput(path, fmt::format("truncated: the header announces {} values of {} bytes but only {} bytes "
                                         "of data follow",
                                         count, elem, b.size() - data_off));
  const char* p = b.data() + data_off;
  if (t == "u1") {
    convert<std::uint8_t>(p, count, a.values);
    a.is_uint8 = true;
  } else if (t == "b1") {
    convert<std::uint8_t>(p, count, a.values);
  } else if (t == "i1") {
    convert<std::int8_t>(p, count, a.values);
  } else if (t == "i2") {
    convert<std::int16_t>(p, count, a.values);
  } else if (t == "u2") {
    convert<std::uint16_t>(p, count, a.values);
  } else if (t == "i4") {
    convert<std::int32_t>(p, count, a.values);
  } else if (t == "u4") {
    convert<std::uint32_t>(p, count, a.values);
  } else if (t == "i8") {
    convert<std::int64_t>(p, count, a.values);
  } else if (t == "u8") {
    convert<std::uint64_t>(p, count, a.values);
  } else if (t == "f4") {
    convert<float>(p, count, a.values);
  } else if (t == "f8") {
    convert<double>(p, count, a.values);
  } else {
    throw InvalidInput(path, fmt::format("dtype '{}' is not supported (uint8, integers, float32, float64 are)", d));
  }
  a.is_integer = t[0] == 'u' || t[0] == 'i' || t[0] == 'b';
  return a;
}

std::string npy_bytes(const std::vector<std::int64_t>& shape, const float* values) {
  std::string dims;
  std::int64_t count = 1;
  for (auto d : shape) {
    dims += std::to_string(d) + ",";
    count *= d;
  }
  if (shape.size() > 1) dims.pop_back();  // "(3,)" for one dim, "(3,4)" for more
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad with spaces so that magic + length + header + '\n' is a multiple of 64.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char*>(values), static_cast<std::size_t>(count) * sizeof(float));
  return out;
}

void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const float* values) {
  io::write_file_atomic(path, npy_bytes(shape, values));
}

}  // namespace xbarmc::data
