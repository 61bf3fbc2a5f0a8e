#!/usr/bin/env bash
# Nsight Compute on a lent GPU machine, after scripts/device-check.sh (the same bundle
# from scripts/device-bundle.sh, carried in .device-bundle): the device check's LeNet-5
# study (64 chips x 1,000 images) once per crossbar kernel, with the hardware counters of
# its first fifteen launches (the chip instances of conv1, conv2, fc1, fc2 and fc3: IDs
# 0-4; then per layer its float reference and its crossbar reads: IDs 5-14), and a short
# table per launch
# (scripts/ncu_table.py): duration, throughputs, occupancy, issue activity, the tensor
# pipe's use and the largest warp stall reasons, i.e. what bounds each layer. Clocks are
# left as found (--clock-control none). Then, inside the warp kernel's conv1 and conv2
# launches, the source lines with the most warp stall samples. The reports and CSV
# exports go to $OUT/device-profile.tar.gz when OUT is set. At most 2 x 150 + 2 x 90 s;
# naming kernels (warp, block, batch) profiles only those (warp alone: at most 150 + 2 x
# 90 s). `batch` is the warp kernel with its batched body (XBARMC_CUDA_BATCH=on); when it
# is named, the source lines are the batched body's.
#   scripts/device-profile.sh [warp] [block] [batch]
set -uo pipefail
LOG=/tmp/xbarmc-device-profile
source "$(dirname "$0")/device-env.sh"
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
[ -n "$NCU" ] || { echo "ncu (Nsight Compute) not found"; exit 1; }
"$NCU" --version | tail -1
declare -A result
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(warp block)
source_batch=off
for k in "${kernels[@]}"; do
  case $k in
    warp | block) ;;
    batch) source_batch=on ;;
    *) echo "device-profile.sh: unknown kernel '$k' (use warp, block, batch or none)"; exit 2 ;;
  esac
done
for k in "${kernels[@]}"; do
  echo "== $k kernel"
  rm -rf "/tmp/xbarmc-ncu-run-$k"
  kernel=$k batch=off
  [ "$k" = batch ] && kernel=warp batch=on
  XBARMC_CUDA_KERNEL=$kernel XBARMC_CUDA_BATCH=$batch timeout 150 "$NCU" --clock-control none \
    --kernel-name regex:'crossbar_kernel|batch_kernel|instantiate_kernel|reference_kernel' \
    --launch-count 15 --section SpeedOfLight --section LaunchStats --section Occupancy --section ComputeWorkloadAnalysis \
    --section MemoryWorkloadAnalysis --section WarpStateStats --section InstructionStats -o "$LOG/ncu_$k" -f \
    "${LENET_STUDY[@]}" --out "/tmp/xbarmc-ncu-run-$k" >"$LOG/ncu_$k.log" 2>&1
  rc=$?
  grep -E "^==(ERROR|WARNING)==" "$LOG/ncu_$k.log" | head -5
  if [ $rc -eq 0 ] && "$NCU" --import "$LOG/ncu_$k.ncu-rep" --page details --csv >"$LOG/ncu_${k}_details.csv" &&
    "$NCU" --import "$LOG/ncu_$k.ncu-rep" --page raw --csv >"$LOG/ncu_${k}_raw.csv"; then
    /usr/bin/env python3 scripts/ncu_table.py "$LOG/ncu_${k}_details.csv" "$LOG/ncu_${k}_raw.csv" | tee "$LOG/ncu_$k.txt"
    result[$k]=$([ "${PIPESTATUS[0]}" -eq 0 ] && echo pass || echo "FAIL (table)")
  else
    tail -5 "$LOG/ncu_$k.log"
    result[$k]="FAIL (rc $rc)"
  fi
done
# Inside the warp kernel (its batched body when `batch` is named): the source lines of
# conv1's and conv2's launches with the most warp stall samples (source counters; the
# CUDA view where ncu finds the sources, else SASS).
for skip in 0 1; do
  layer=$([ $skip -eq 0 ] && echo conv1 || echo conv2)
  echo "== warp kernel (batched body: $source_batch), $layer: where the time goes"
  rm -rf "/tmp/xbarmc-ncu-src-$skip"
  if ! XBARMC_CUDA_KERNEL=warp XBARMC_CUDA_BATCH=$source_batch timeout 90 "$NCU" --clock-control none \
    --kernel-name regex:'warp_crossbar_kernel|warp_batch_kernel' \
    --launch-skip $skip --launch-count 1 --section SourceCounters --section WarpStateStats \
    -o "$LOG/ncu_source_$layer" -f "${LENET_STUDY[@]}" --out "/tmp/xbarmc-ncu-src-$skip" \
    >"$LOG/ncu_source_$layer.log" 2>&1; then
    tail -3 "$LOG/ncu_source_$layer.log"
    result[source_$layer]=FAIL
    continue
  fi
  result[source_$layer]="FAIL (no source page)"
  for view in "--print-source cuda --source-folders $PWD" "--print-source cuda" ""; do
    # shellcheck disable=SC2086 # $view is a list of options
    if "$NCU" --import "$LOG/ncu_source_$layer.ncu-rep" --page source --csv $view >"$LOG/ncu_source_$layer.csv" \
      2>>"$LOG/ncu_source_$layer.log" &&
      /usr/bin/env python3 scripts/ncu_table.py --source "$LOG/ncu_source_$layer.csv" 12; then
      result[source_$layer]="pass (${view:-SASS view})"
      break
    fi
  done
done
if [ -n "${OUT:-}" ]; then tar -C /tmp -czf "$OUT/device-profile.tar.gz" xbarmc-device-profile; fi
echo
echo "== device profile summary"
for k in "${kernels[@]}" source_conv1 source_conv2; do printf '%-13s %s\n' "$k" "${result[$k]}"; done
