#pragma once
/// \file
/// The output directory of a run, built as a whole or not at all: files are
/// written into a hidden staging directory next to the target, which is renamed
/// into place by commit(). A run that fails leaves no directory behind; an
/// existing target is refused unless overwrite is asked for.

#include <string>

namespace xbarmc::montecarlo {

class RunDirectory {
 public:
  /// Checks `target` (exists and !overwrite: InvalidConfig naming --out and --overwrite)
  /// and creates the staging directory.
  RunDirectory(const std::string& target, bool overwrite);
  ~RunDirectory();
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  /// Path of `name` inside the staging directory (write files there atomically).
  std::string file(const std::string& name) const;
  /// Moves the staging directory into place (replacing an old target when overwriting).
  void commit();
  /// The final directory.
  const std::string& target() const { return target_; }

 private:
  std::string target_;
  std::string staging_;
  bool overwrite_;
  bool committed_ = false;
};

}  // namespace xbarmc::montecarlo
