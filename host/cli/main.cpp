// The xbarmc program: hand the arguments to the library, return its exit code.
#include <string>
#include <vector>

#include "xbarmc/app/cli.hpp"

int main(int argc, char** argv) { return xbarmc::app::run_cli(std::vector<std::string>(argv + 1, argv + argc)); }
