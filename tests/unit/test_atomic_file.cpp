#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "xbarmc/errors.hpp"
#include "xbarmc/io/atomic_file.hpp"

namespace fs = std::filesystem;

TEST(AtomicFile, WritesAndReplaces) {
  const fs::path dir = fs::temp_directory_path() / ("xbarmc_atomic_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "out.txt").string();
  xbarmc::io::write_file_atomic(path, std::string("first"));
  xbarmc::io::write_file_atomic(path, [](std::ostream& os) { os << "second " << 2; });
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), "second 2");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);  // no temporary left behind
  fs::remove_all(dir);
}

TEST(AtomicFile, MissingDirectoryIsANamedError) {
  try {
    xbarmc::io::write_file_atomic("/nonexistent-dir/x.txt", std::string("x"));
    FAIL();
  } catch (const xbarmc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.txt"), std::string::npos);
  }
}
