#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. the normal build (CUDA backend compiled whenever nvcc exists; CUDA tests
#      are reported as skipped on a machine without a GPU), all tests;
#   2. a sanitizer build of the CPU code (address, undefined), all CPU tests.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh
jobs=$(nproc)

echo "== normal build =="
scripts/build.sh build
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 1200

echo "== sanitizer build (address, undefined; CPU code) =="
scripts/build.sh build-sanitize -DXBARMC_SANITIZE=address,undefined -DXBARMC_CUDA=OFF \
  -DXBARMC_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-sanitize --output-on-failure -j "$jobs" --timeout 1800 -LE "no_sanitize"

echo "test.sh: all tests passed in $(( $(date +%s) - start )) s"
