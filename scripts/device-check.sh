#!/usr/bin/env bash
# One command for a GPU machine (CUDA toolkit, no Debian -dev packages, no network):
# runs from the bundle scripts/device-bundle.sh made, with the machine's CUDA libraries:
# the CUDA tests, compute-sanitizer memcheck on a small case, an end-to-end `xbarmc run`
# on the GPU, the GPU benchmark, and a short table last. Logs go to $OUT when set.
# Every stage has its own time limit; the whole check stays under 9 minutes.
#   scripts/device-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
B=/tmp/xbarmc-bundle
LOG="${OUT:-/tmp/xbarmc-device-check}"
mkdir -p "$LOG" "$B"
tar -C "$B" -xzf .device-bundle/xbarmc-device.tar.gz || { echo "no bundle: run scripts/device-bundle.sh first"; exit 1; }
export LD_LIBRARY_PATH="$B/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export XBARMC_SOURCE_DIR="$PWD" XBARMC_DATA_DIR="$B/data"
start=$(date +%s)
declare -A result

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$LOG/gpu.txt"
"$B/bin/xbarmc" info | tee "$LOG/info.txt"

echo "== CUDA tests"
timeout 120 "$B/bin/xbarmc_cuda_tests" 2>&1 | tee "$LOG/cuda_tests.log" | grep -E "FAILED|PASSED|Failure|differ|identical|^no CUDA|Expected|Which is"
result[cuda_tests]=$([ "${PIPESTATUS[0]}" -eq 0 ] && echo pass || echo FAIL)

echo "== compute-sanitizer memcheck (small case)"
if command -v compute-sanitizer >/dev/null; then
  timeout 150 compute-sanitizer --tool memcheck --print-limit 20 --error-exitcode 9 "$B/bin/xbarmc_cuda_tests" \
    --gtest_filter='PhiloxCuda.*:Variants/CrossbarCuda.EqualsTheCpuOnTheSameChips/1:Variants/CrossbarCuda.EqualsTheCpuOnTheSameChips/3:TrialsCuda.LeNet*' \
    >"$LOG/memcheck.log" 2>&1
  rc=$?
  tail -3 "$LOG/memcheck.log"
  result[memcheck]=$([ $rc -eq 0 ] && echo pass || echo "FAIL (rc $rc)")
else
  result[memcheck]="not available"
fi

echo "== xbarmc run on the GPU (LeNet-5, 64 trials x 1000 images)"
rm -rf /tmp/xbarmc-gpu-run
timeout 45 "$B/bin/xbarmc" run --model experiments/models/lenet5.onnx --data "$B/data" --images 1000 --trials 64 \
  --backend cuda --out /tmp/xbarmc-gpu-run --progress off 2>&1 | tee "$LOG/run.log" | tail -12
result[run]=$([ "${PIPESTATUS[0]}" -eq 0 ] && echo pass || echo FAIL)
cp /tmp/xbarmc-gpu-run/summary.json "$LOG/run_summary.json" 2>/dev/null
# The same run with the other crossbar block size: identical accuracies, compare speed.
rm -rf /tmp/xbarmc-gpu-run512
XBARMC_CUDA_THREADS=512 timeout 45 "$B/bin/xbarmc" run --model experiments/models/lenet5.onnx --data "$B/data" \
  --images 1000 --trials 64 --backend cuda --out /tmp/xbarmc-gpu-run512 --progress off >"$LOG/run512.log" 2>&1
if cmp -s <(cut -d, -f1-7 /tmp/xbarmc-gpu-run/trials.csv) <(cut -d, -f1-7 /tmp/xbarmc-gpu-run512/trials.csv); then
  result[run512]="pass (same accuracies as 256 threads)"
else
  result[run512]="FAIL (accuracies differ from 256 threads)"
fi

echo "== GPU benchmark"
timeout 150 "$B/bin/xbarmc_bench_cuda" "$PWD" "$B/data" 2>&1 | tee "$LOG/bench.log"
result[bench]=$([ "${PIPESTATUS[0]}" -eq 0 ] && echo pass || echo FAIL)

echo
echo "== device check summary ($(( $(date +%s) - start )) s)"
printf '%-12s %s\n' gpu "$(cat "$LOG/gpu.txt")"
for k in cuda_tests memcheck run run512 bench; do printf '%-12s %s\n' "$k" "${result[$k]}"; done
grep -E "crossbar /|trial-img|^(lenet5|vgg|resnet20|vit) " "$LOG/bench.log" | sed 's/^/  /'
grep -E "trial-images/s" "$LOG/run.log" | sed 's/^/  run (256 threads): /'
grep -E "trial-images/s" "$LOG/run512.log" | sed 's/^/  run (512 threads): /'
