#pragma once
/// \file
/// Writing output files so that a reader never sees a half-written one: write to a
/// temporary file in the same directory, flush it to disk, then rename it over the
/// target (atomic on POSIX file systems). A failure (e.g. no space left) removes the
/// temporary file and throws xbarmc::Error naming the path and the reason.

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>

namespace xbarmc::io {

/// Writes `content` to `path` atomically.
void write_file_atomic(const std::string& path, const std::string& content);

/// Writes `size` bytes at `data` to `path` atomically.
void write_file_atomic(const std::string& path, const void* data, std::size_t size);

/// Streams into a temporary file through `writer`, then renames it to `path`.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer);

}  // namespace xbarmc::io
