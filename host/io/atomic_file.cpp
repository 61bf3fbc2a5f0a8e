#include "xbarmc/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"

namespace xbarmc::io {

namespace {

std::string reason(int err) {
  if (err == ENOSPC) return "no space left on the device; free some space or write elsewhere";
  if (err == EDQUOT) return "disk quota exceeded";
  if (err == EFBIG) return "file too large for the file-size limit (ulimit -f)";
  if (err == EACCES || err == EPERM) return "permission denied";
  if (err == ENOENT) return "the directory does not exist";
  return std::strerror(err);
}

// Writes all bytes to fd; returns 0 or errno.
int write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return 0;
}

}  // namespace

void write_file_atomic(const std::string& path, const void* data, std::size_t size) {
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) throw Error(fmt::format("cannot write {}: {}", path, reason(errno)));
  int err = write_all(fd, static_cast<const char*>(data), size);
  if (err == 0 && ::fchmod(fd, 0644) != 0) err = errno;  // mkstemp creates 0600
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(name.data(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(name.data());
    throw Error(fmt::format("cannot write {}: {}", path, reason(err)));
  }
}

void write_file_atomic(const std::string& path, const std::string& content) {
  write_file_atomic(path, content.data(), content.size());
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer) {
  std::ostringstream os;
  writer(os);
  write_file_atomic(path, os.str());
}

}  // namespace xbarmc::io
