#include "xbarmc/montecarlo/run_directory.hpp"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "xbarmc/errors.hpp"

namespace fs = std::filesystem;

namespace xbarmc::montecarlo {

RunDirectory::RunDirectory(const std::string& target, bool overwrite) : target_(target), overwrite_(overwrite) {
  if (target.empty()) throw InvalidConfig("out: a run directory is required (--out DIR)");
  fs::path t = fs::path(target).lexically_normal();
  if (t.filename().empty()) t = t.parent_path();
  target_ = t.string();
  std::error_code ec;
  if (fs::exists(t, ec)) {
    if (!overwrite) {
      throw InvalidConfig(
          fmt::format("out: {} already exists; choose another --out or add --overwrite to replace it", target_));
    }
    if (!fs::is_directory(t, ec)) {
      throw InvalidConfig(fmt::format("out: {} exists and is not a directory; it will not be replaced", target_));
    }
  }
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) throw Error(fmt::format("out: cannot create the directory {}: {}", parent.string(), ec.message()));
  staging_ = (parent / fmt::format(".{}.partial-{}", t.filename().string(), ::getpid())).string();
  fs::remove_all(staging_, ec);
  if (!fs::create_directory(staging_, ec) || ec) {
    throw Error(fmt::format("out: cannot create {}: {}", staging_, ec ? ec.message() : "unknown error"));
  }
}

RunDirectory::~RunDirectory() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

std::string RunDirectory::file(const std::string& name) const { return (fs::path(staging_) / name).string(); }

void RunDirectory::commit() {
  std::error_code ec;
  std::string old;
  if (fs::exists(target_, ec)) {
    old = staging_ + ".old";
    fs::rename(target_, old, ec);
    if (ec) throw Error(fmt::format("out: cannot move the old {} aside: {}", target_, ec.message()));
  }
  fs::rename(staging_, target_, ec);
  if (ec) {
    if (!old.empty()) fs::rename(old, target_, ec);
    throw Error(fmt::format("out: cannot move the results into {}: {}", target_, ec.message()));
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace xbarmc::montecarlo
