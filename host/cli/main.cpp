// The xbarmc program: hand the arguments to the library, return its exit code.
#include <csignal>
#include <string>
#include <vector>

#include "xbarmc/app/cli.hpp"

int main(int argc, char** argv) {
  // A file-size limit (ulimit -f) then fails a write with EFBIG, reported like a full
  // disk, instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  return xbarmc::app::run_cli(std::vector<std::string>(argv + 1, argv + argc));
}
