#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on the bundled model and data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
echo
./build/host/xbarmc info
