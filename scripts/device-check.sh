#!/usr/bin/env bash
# One command for a GPU machine (CUDA toolkit, no Debian -dev packages, no network):
# runs from the bundle scripts/device-bundle.sh made, with the machine's CUDA libraries:
# the CUDA tests (both crossbar kernels), compute-sanitizer memcheck and racecheck on small
# cases, an end-to-end `xbarmc run --profile` on the GPU with each kernel (compared trial by
# trial, with the GPU time of every stage),
# the GPU benchmark, and a short table last. The logs go, as one archive, to
# $OUT/device-check.tar.gz when OUT is set (a lent machine returns at most 8 files). Every stage has its
# own time limit (110 + 110 + 60 + 3 x 20 + 130 s = 470 s at most): under 8 minutes.
#   scripts/device-check.sh
set -uo pipefail
LOG=/tmp/xbarmc-device-check
source "$(dirname "$0")/device-env.sh"
start=$(date +%s)
declare -A result

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$LOG/gpu.txt"
"$B/bin/xbarmc" info | tee "$LOG/info.txt"

echo "== CUDA tests"
timeout 110 "$B/bin/xbarmc_cuda_tests" 2>&1 | tee "$LOG/cuda_tests.log" | grep -E "FAILED|PASSED|Failure|differ|identical|^no CUDA|Expected|Which is"
result[cuda_tests]=$([ "${PIPESTATUS[0]}" -eq 0 ] && echo pass || echo FAIL)

echo "== compute-sanitizer memcheck and racecheck (small cases)"
if command -v compute-sanitizer >/dev/null; then
  timeout 110 compute-sanitizer --tool memcheck --print-limit 20 --error-exitcode 9 "$B/bin/xbarmc_cuda_tests" \
    --gtest_filter='PhiloxCuda.*:Variants/CrossbarCuda.*/signed_inputs_block512:Variants/CrossbarCuda.*/offset_4bit_cells_warp:Variants/CrossbarCuda.*/dac2_normal_warp:Variants/CrossbarCuda.*/signed_inputs_warp:Variants/CrossbarCuda.*/cols256_warp:Variants/CrossbarCuda.*/rows25_cols48_batch_warp:Variants/CrossbarCuda.*/rows25_cols48_one_sign_warp:Kernels/TrialsCuda.LeNetTrialsMatchTheCpuBackend/1:IterativeIrDrop.*:DigitalOps/OpsCuda.*' \
    >"$LOG/memcheck.log" 2>&1
  rc=$?
  tail -3 "$LOG/memcheck.log"
  result[memcheck]=$([ $rc -eq 0 ] && echo pass || echo "FAIL (rc $rc)")
  # Shared-memory hazards of the warp kernel (per-warp staging reused across passes; the
  # cases run its batched body too, XBARMC_CUDA_BATCH=on: default on narrow tiles,
  # rows25_cols48_one_sign on short ones, skipping zero phases and not) and of the
  # IR-drop PCG's block reductions.
  timeout 60 compute-sanitizer --tool racecheck --print-limit 20 --error-exitcode 9 "$B/bin/xbarmc_cuda_tests" \
    --gtest_filter='Variants/CrossbarCuda.*/default_warp:Variants/CrossbarCuda.*/offset_4bit_cells_warp:Variants/CrossbarCuda.*/dac2_normal_warp:Variants/CrossbarCuda.*/rows25_cols48_one_sign_warp:IterativeIrDrop.ChipsMatchTheHostSolver' \
    >"$LOG/racecheck.log" 2>&1
  rc=$?
  tail -3 "$LOG/racecheck.log"
  result[racecheck]=$([ $rc -eq 0 ] && echo pass || echo "FAIL (rc $rc)")
else
  result[memcheck]="not available"
  result[racecheck]="not available"
fi

echo "== xbarmc run on the GPU (LeNet-5, 64 trials x 1000 images), block and warp kernels, warp with its batched body"
for k in block warp batch; do
  rm -rf "/tmp/xbarmc-gpu-run-$k"
  kernel=$k batch=off
  [ "$k" = batch ] && kernel=warp batch=on
  XBARMC_CUDA_KERNEL=$kernel XBARMC_CUDA_BATCH=$batch timeout 20 "${LENET_STUDY[@]}" --out "/tmp/xbarmc-gpu-run-$k" \
    --profile 2>&1 | tee "$LOG/run_$k.log" | tail -24
  result[run_$k]=$([ "${PIPESTATUS[0]}" -eq 0 ] && echo pass || echo FAIL)
  cp "/tmp/xbarmc-gpu-run-$k/summary.json" "$LOG/run_${k}_summary.json" 2>/dev/null
  cp "/tmp/xbarmc-gpu-run-$k/profile.csv" "$LOG/run_${k}_profile.csv" 2>/dev/null
done
# The two kernels agree per trial within one image (codes may flip only within float
# rounding of an ADC boundary); stuck counts are identical.
if cmp_out=$(paste -d, /tmp/xbarmc-gpu-run-block/trials.csv /tmp/xbarmc-gpu-run-warp/trials.csv 2>/dev/null |
  awk -F, -v n="$(head -1 /tmp/xbarmc-gpu-run-block/trials.csv | awk -F, '{print NF}')" '
    NR > 1 { d = $4 - $(n + 4); if (d < 0) d = -d; if (d > max) max = d; if (d > 0) diff++;
             if ($8 != $(n + 8) || $9 != $(n + 9)) stuck++; rows++ }
    END { printf "%d of %d trials differ in top-1 (at most %d images), %d in stuck counts", diff, rows, max, stuck;
          exit (rows == 0 || max > 1 || stuck > 0) }'); then
  result[warp_vs_block]="pass ($cmp_out)"
else
  result[warp_vs_block]="FAIL (${cmp_out:-no trials.csv})"
fi

# The batched body runs the same chunks in the same arithmetic: the same records, byte for byte.
if [ -s /tmp/xbarmc-gpu-run-batch/trials.csv ] && cmp -s /tmp/xbarmc-gpu-run-warp/trials.csv /tmp/xbarmc-gpu-run-batch/trials.csv; then
  result[batch_vs_warp]="pass (trials.csv identical)"
else
  result[batch_vs_warp]="FAIL (trials.csv differ or missing)"
fi

echo "== GPU benchmark"
timeout 130 "$B/bin/xbarmc_bench_cuda" "$PWD" "$B/data" 2>&1 | tee "$LOG/bench.log"
result[bench]=$([ "${PIPESTATUS[0]}" -eq 0 ] && echo pass || echo FAIL)

if [ -n "${OUT:-}" ]; then tar -C /tmp -czf "$OUT/device-check.tar.gz" xbarmc-device-check; fi
echo
echo "== device check summary ($(( $(date +%s) - start )) s)"
printf '%-14s %s\n' gpu "$(cat "$LOG/gpu.txt")"
for k in cuda_tests memcheck racecheck run_block run_warp run_batch warp_vs_block batch_vs_warp bench; do
  printf '%-14s %s\n' "$k" "${result[$k]}"
done
grep -E "kernel|crossbar /|fastest|float reference|trial-img|IR drop|^(lenet5|vgg|resnet20|vit) " "$LOG/bench.log" | sed 's/^/  /'
for k in block warp batch; do
  grep -E "trial-images/s" "$LOG/run_$k.log" | sed "s/^/  run ($k kernel): /"
  # Where the run's GPU time went (--profile): per kind, then the three longest stages.
  grep -E "^  (chips|crossbar|digital|transfer) +[0-9]" "$LOG/run_$k.log" | sed "s/^/  run ($k kernel) /"
  grep -A3 "longest stages" "$LOG/run_$k.log" | tail -3 | sed "s/^/  run ($k kernel) /"
done
