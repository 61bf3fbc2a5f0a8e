#!/usr/bin/env bash
# scripts/ncu_table.py (the table scripts/device-profile.sh prints on a GPU machine) on
# Nsight Compute CSV exports in ncu's layout (tests/integration/data/ncu_*.csv: the
# details page with its leading ==PROF== line and rule columns; the raw page with its
# units row; the source page): names without parameters, metrics with units, the tensor
# pipe, stall reasons largest first, the source lines with the most stall samples, in the
# SASS view also the hottest runs of instructions; wrong input is an error.
#   ncu_table.sh SOURCE_DIR
set -euo pipefail
src="$1"
py=/usr/bin/python3
data="$src/tests/integration/data"
out=$("$py" "$src/scripts/ncu_table.py" "$data/ncu_details.csv" "$data/ncu_raw.csv")
echo "$out"
expect() { grep -qF -- "$1" <<<"$out" || { echo "FAIL: missing '$1'"; exit 1; }; }
expect "[0] warp_crossbar_kernel<false, 8>  grid (264, 1, 1)  block (256, 1, 1)"
expect "duration 412.35 usecond, SM % 61.20, registers 128 register/thread, tensor pipe % 18.5"
expect "stalls (cycles per issue): short_scoreboard 1.75, mio_throttle 0.90, barrier 0.12"
expect "[1] block_crossbar_kernel<512>  grid (528, 1, 1)  block (512, 1, 1)"
expect "occupancy % 24.9, tensor pipe % 9.5"
# The raw page is not a details export: an error naming the column, exit 1.
if err=$("$py" "$src/scripts/ncu_table.py" "$data/ncu_raw.csv" 2>&1); then
  echo "FAIL: a raw export passed as details was accepted"
  exit 1
fi
grep -qF "no 'Metric Name' column" <<<"$err" || { echo "FAIL: unclear error: $err"; exit 1; }
# The source page: the rows with the most stall samples, largest first, as shares.
src_out=$("$py" "$src/scripts/ncu_table.py" --source "$data/ncu_source.csv" 2)
echo "$src_out"
grep -qF "Warp Stall Sampling (All Samples): 4000 in all; the largest 2:" <<<"$src_out" || { echo "FAIL: source total"; exit 1; }
[ "$(sed -n 2p <<<"$src_out" | awk '{print $1, $2}')" = "60.0% 322" ] || { echo "FAIL: largest row"; exit 1; }
[ "$(sed -n 3p <<<"$src_out" | awk '{print $1, $2}')" = "30.0% 301" ] || { echo "FAIL: second row"; exit 1; }
[ "$(wc -l <<<"$src_out")" -eq 3 ] || { echo "FAIL: more rows than asked"; exit 1; }
# ncu 2025's source page in the SASS view (a "Kernel Name" line above the header; rows of
# the H200 profile of 2026-11-27, experiments/gpu_device_check/): the hottest single
# instructions, then the hottest runs of 64 instructions with their opcodes.
sass_out=$("$py" "$src/scripts/ncu_table.py" --source "$data/ncu_source_sass.csv" 3)
echo "$sass_out"
grep -qF "Warp Stall Sampling (All Samples): 399866 in all; the largest 3:" <<<"$sass_out" || { echo "FAIL: SASS total"; exit 1; }
[ "$(sed -n 2p <<<"$sass_out" | awk '{print $1, $2, $3}')" = "4.8% 0x7f61d77c1550 VIADD" ] || { echo "FAIL: SASS top row"; exit 1; }
grep -qF "the hottest runs of 64 instructions" <<<"$sass_out" || { echo "FAIL: no SASS runs"; exit 1; }
[ "$(sed -n 6p <<<"$sass_out" | awk '{print $1, $2, $3, $4, $5}')" = "0- 63 79.1% 83.2% IMAD:29.4" ] || { echo "FAIL: hottest run"; exit 1; }
if "$py" "$src/scripts/ncu_table.py" --source "$data/ncu_raw.csv" >/dev/null 2>&1; then
  echo "FAIL: a raw export passed as a source page was accepted"
  exit 1
fi
echo "ncu_table: ok"
