#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job: the default Monte Carlo study
# (experiments/quickstart/study.ini: LeNet-5 on Fashion-MNIST, default hardware, 100
# chips x 1000 images, a margin requirement), then plots it.
#   scripts/quickstart.sh [OUT_DIR]      (default runs/quickstart; replaced if it exists)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/quickstart}"
scripts/setup.sh
scripts/build.sh build
echo
./build/host/xbarmc --version
rc=0
./build/host/xbarmc run --config experiments/quickstart/study.ini --out "$out" --overwrite || rc=$?
# 3 and 4 are verdicts of the margin gate (failed, undecided), not errors of the run.
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ] && [ "$rc" -ne 4 ]; then exit "$rc"; fi
/usr/bin/python3 scripts/plot_run.py "$out"
echo
echo "quickstart: the study is in $out (config.ini, trials.csv, summary.json, accuracy.png, layers.png)"
