#!/usr/bin/env bash
# Crossbar tile physics benchmark (issue #3): the crossbar read rate against OpenBLAS
# sgemm on the same shapes and cores, the IR-drop models' cost per tile and per input
# vector at 64/128/256, and the ngspice error table of each IR-drop mode.
#   scripts/bench/tile.sh [BUILD_DIR] [--vectors N] [--repeats R]
# Ratios are measured in the same run; on a shared machine run it twice and keep the
# better one (other processes slow both sides alike, but not always equally).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="build"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then dir="$1"; shift; fi
if [ ! -x "$dir/tests/xbarmc_bench_tile" ]; then
  scripts/build.sh "$dir" -DXBARMC_BUILD_BENCHMARKS=ON
fi
echo "== machine =="
lscpu | grep -E "^(Model name|CPU\(s\)|Flags)" | sed -E 's/(Flags:).*(avx512[a-z_]*|avx2).*/\1 ... \2 .../' || true
uptime
"$dir/tests/xbarmc_bench_tile" "$@"
echo "== IR-drop modes against ngspice (max relative error of the column currents) =="
python3 tests/integration/ngspice_tile.py "$dir/host/xbarmc" --table
