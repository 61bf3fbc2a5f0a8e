#pragma once
/// \file
/// The one exception hierarchy of xbarmc. Every error a user can cause is one of
/// these, with a message that names the offending thing and how to fix it. The
/// CLI maps them to exit codes (exit_code()).

#include <stdexcept>
#include <string>

namespace xbarmc {

/// Process exit codes of the CLI.
enum ExitCode : int {
  exit_ok = 0,
  exit_runtime_error = 1,
  exit_usage_error = 2,
  exit_margin_failed = 3,
  exit_margin_undecided = 4,
};

/// Base class: a runtime failure (exit code 1).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  /// Exit code the CLI returns for this error.
  virtual int exit_code() const noexcept { return exit_runtime_error; }
};

/// A wrong option, configuration key or value, or command-line usage (exit code 2).
class InvalidConfig : public Error {
 public:
  using Error::Error;
  int exit_code() const noexcept override { return exit_usage_error; }
};

/// A file that cannot be used: missing, truncated, malformed, or inconsistent
/// with another input. The message names the file.
class InvalidInput : public Error {
 public:
  InvalidInput(const std::string& file, const std::string& what)
      : Error(file.empty() ? what : file + ": " + what), file_(file) {}
  const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
};

/// A valid request that this version does not implement (an ONNX operator, a mode).
class Unsupported : public Error {
 public:
  using Error::Error;
};

/// A feature that was not compiled into this build (e.g. the CUDA backend).
class NotCompiled : public Error {
 public:
  using Error::Error;
};

/// A device was asked for but none is usable.
class NoDevice : public Error {
 public:
  using Error::Error;
};

/// A failed CUDA runtime or library call, with the source location of the call.
class CudaError : public Error {
 public:
  CudaError(const std::string& what, const char* file, int line)
      : Error(std::string(file) + ":" + std::to_string(line) + ": " + what), file_(file), line_(line) {}
  const char* file() const noexcept { return file_; }
  int line() const noexcept { return line_; }

 private:
  const char* file_;
  int line_;
};

}  // namespace xbarmc
