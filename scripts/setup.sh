#!/usr/bin/env bash
# Installs the Debian packages xbarmc needs that are missing, and only those.
# Idempotent: a second run installs nothing. Runs `apt-get update` at most once,
# and only when something must be installed.
#
#   scripts/setup.sh            build, test and run dependencies
#   scripts/setup.sh --train    also PyTorch, torchvision and onnx (only to retrain the
#                               bundled models or to run the PyTorch comparisons)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-program-options-dev googletest libgtest-dev libbenchmark-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev
  libonnx-dev libprotobuf-dev protobuf-compiler zlib1g-dev
  libopenblas-dev libeigen3-dev libsuitesparse-dev
  ngspice dataset-fashion-mnist
  python3 python3-numpy python3-matplotlib
)
if [ "${1:-}" = "--train" ]; then
  packages+=(python3-torch python3-torchvision python3-onnx)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages are present"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing Debian package(s): ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
