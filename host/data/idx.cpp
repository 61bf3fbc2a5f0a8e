#include "xbarmc/data/idx.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <zlib.h>

#include "xbarmc/errors.hpp"

namespace xbarmc::data {

std::string read_maybe_gzip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidInput(path, fmt::format("cannot open the file ({})", std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string raw = ss.str();
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f || static_cast<unsigned char>(raw[1]) != 0x8b)
    return raw;
  // gzip: inflate the whole stream (concatenated members included).
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw Error("zlib: inflateInit2 failed");
  std::string out;
  out.resize(std::max<std::size_t>(raw.size() * 4, 1 << 16));
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  std::size_t produced = 0;
  while (true) {
    if (produced == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // another gzip member follows
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended before the stream did
    inflateEnd(&zs);
    throw InvalidInput(path, fmt::format("the gzip data is damaged ({})", zs.msg ? zs.msg : "inflate error"));
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) throw InvalidInput(path, "the gzip data ends early (a truncated download or copy?)");
  out.resize(produced);
  return out;
}

IdxArray read_idx(const std::string& path) {
  const std::string b = read_maybe_gzip(path);
  auto u8 = [&](std::size_t k) { return static_cast<unsigned char>(b[k]); };
  if (b.size() < 4 || u8(0) != 0 || u8(1) != 0)
    throw InvalidInput(path, "not an IDX file (the first two bytes must be 0)");
  const int type = u8(2), rank = u8(3);
  int elem;
  switch (type) {
    case 0x08:
    case 0x09:
      elem = 1;
      break;
    case 0x0B:
      elem = 2;
      break;
    case 0x0C:
    case 0x0D:
      elem = 4;
      break;
    case 0x0E:
      elem = 8;
      break;
    default:
      throw InvalidInput(path, fmt::format("not an IDX file (unknown type code 0x{:02x})", type));
  }
  if (rank < 1) throw InvalidInput(path, "IDX header with no dimensions");
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(rank);
  if (b.size() < header) throw InvalidInput(path, "truncated: the IDX header is incomplete");
  IdxArray a;
  a.is_uint8 = type == 0x08;
  std::int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    const std::size_t o = 4 + 4 * d;
    const std::int64_t dim =
        (static_cast<std::int64_t>(u8(o)) << 24) | (u8(o + 1) << 16) | (u8(o + 2) << 8) | u8(o + 3);
    a.dims.push_back(dim);
    count *= dim;
  }
  const std::size_t need = static_cast<std::size_t>(count) * elem;
  if (b.size() - header < need)
    throw InvalidInput(path, fmt::format(
                                 "truncated: the header announces {} ({} bytes of data) but the file holds "
                                 "{} bytes after it",
                                 [&] {
                                   std::string s;
                                   for (auto d : a.dims) s += (s.empty() ? "" : "x") + std::to_string(d);
                                   return s;
                                 }(),
                                 need, b.size() - header));
  a.values.resize(count);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(b.data()) + header;
  for (std::int64_t k = 0; k < count; ++k, p += elem) {
    switch (type) {
      case 0x08:
        a.values[k] = p[0];
        break;
      case 0x09:
        a.values[k] = static_cast<std::int8_t>(p[0]);
        break;
      case 0x0B:
        a.values[k] = static_cast<std::int16_t>((p[0] << 8) | p[1]);
        break;
      case 0x0C:
        a.values[k] = static_cast<float>(
            static_cast<std::int32_t>((static_cast<std::uint32_t>(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]));
        break;
      case 0x0D: {
        const std::uint32_t u = (static_cast<std::uint32_t>(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
        float f;
        std::memcpy(&f, &u, 4);
        a.values[k] = f;
        break;
      }
      default: {
        std::uint64_t u = 0;
        for (int q = 0; q < 8; ++q) u = (u << 8) | p[q];
        double d;
        std::memcpy(&d, &u, 8);
        a.values[k] = static_cast<float>(d);
        break;
      }
    }
  }
  return a;
}

}  // namespace xbarmc::data
