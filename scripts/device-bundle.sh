#!/usr/bin/env bash
# Builds xbarmc, the CUDA tests and the GPU benchmark for Hopper (sm_90) and packs them,
# with the non-CUDA shared libraries they load (from ldd) and the data the tests read,
# into .device-bundle/ (git-ignored; carry it to a GPU machine, then run
# scripts/device-check.sh there). The GPU machine's own CUDA libraries are used.
#   scripts/device-bundle.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-device}"
out=.device-bundle/stage
scripts/setup.sh
export PATH="/usr/local/cuda/bin:$PATH"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DXBARMC_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DXBARMC_BUILD_BENCHMARKS=ON >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" --target xbarmc xbarmc_cuda_tests xbarmc_bench_cuda

rm -rf .device-bundle
mkdir -p "$out/bin" "$out/lib" "$out/data"
for b in host/xbarmc tests/xbarmc_cuda_tests tests/xbarmc_bench_cuda; do
  cp "$build/$b" "$out/bin/"
  strip --strip-debug "$out/bin/$(basename "$b")" 2>/dev/null || true
done
# Shared libraries, except the C library family and CUDA's (the GPU machine has its own).
for b in "$out"/bin/*; do
  ldd "$b" | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux* | libcuda.so* | libcublas* | \
      libcudart* | libnvidia*) ;;
    *) cp -L "$lib" "$out/lib/" ;;
  esac
done
# Data: the Fashion-MNIST test split and the first 1024 training images (calibration).
src=/usr/share/datasets/fashion-mnist
cp "$src/t10k-images-idx3-ubyte.gz" "$src/t10k-labels-idx1-ubyte.gz" "$out/data/"
/usr/bin/python3 - "$src" "$out/data" <<'PY'
import gzip, struct, sys
src, dst = sys.argv[1], sys.argv[2]
n = 1024
with gzip.open(f"{src}/train-images-idx3-ubyte.gz") as f:
    magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
    pixels = f.read(n * rows * cols)
with gzip.open(f"{dst}/train-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", magic, n, rows, cols) + pixels)
with gzip.open(f"{src}/train-labels-idx1-ubyte.gz") as f:
    magic, count = struct.unpack(">II", f.read(8))
    labels = f.read(n)
with gzip.open(f"{dst}/train-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">II", magic, n) + labels)
PY
# One gzip archive (OpenBLAS alone is 35 MB unpacked): what travels stays small.
tar -C "$out" -cf - bin lib data | gzip -9 >.device-bundle/xbarmc-device.tar.gz
rm -rf "$out"
echo "device bundle: $(du -h .device-bundle/xbarmc-device.tar.gz | cut -f1) in .device-bundle/xbarmc-device.tar.gz"
