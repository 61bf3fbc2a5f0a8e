#!/usr/bin/env bash
# Monte Carlo benchmark (issue #5): trial-images/s of each bundled model at default
# hardware on this machine's cores; the crossbar stage against OpenBLAS sgemm (the tile
# benchmark, same run); the peak memory of the default study; and how the time grows
# with trials, images and tile count (three points each).
#   scripts/bench/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-build}"
[ -x "$dir/host/xbarmc" ] || scripts/build.sh "$dir"
X="$dir/host/xbarmc"
DATA=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); load: $(cut -d' ' -f1-3 /proc/loadavg)"

# rate OUT_DIR: trial-images/s and peak memory of a finished run.
rate() {
  python3 -c "import json,sys; s=json.load(open('$1/summary.json'))['provenance']; \
print(f\"{s['trial_images_per_second']:.0f} {s['peak_rss_bytes']/2**20:.0f} {s['wall_seconds']:.1f}\")"
}
run() {  # run NAME args...: prints the rate line
  local name="$1"; shift
  rm -rf "$tmp/$name"
  "$X" run --data "$DATA" --progress off --out "$tmp/$name" "$@" >"$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; exit 1; }
  rate "$tmp/$name"
}

echo
echo "== trial-images/s per model, default hardware, all cores (8-bit weights as 4 x 2-bit differential slices,"
echo "   8-bit bit-serial inputs, 8-bit ADC)"
printf '%-10s %8s %8s %16s %10s\n' model trials images trial-images/s "peak MiB"
for m in lenet5 vgg resnet20 vit; do
  f=experiments/models/$m.onnx
  [ -f "$f" ] || { printf '%-10s (missing)\n' "$m"; continue; }
  t=8; [ $m = lenet5 ] && t=32
  read -r r mem _ <<<"$(run "m_$m" --model "$f" --trials $t --images 500)"
  printf '%-10s %8d %8d %16s %10s\n' "$m" $t 500 "$r" "$mem"
done

echo
echo "== the default study (experiments/quickstart/study.ini): peak memory"
read -r r mem wall <<<"$(run quick --config experiments/quickstart/study.ini)"
echo "  $r trial-images/s, peak resident memory $mem MiB, wall $wall s"

echo
echo "== scaling (LeNet-5): time against trials, images and tile count"
printf '%-28s %8s %10s\n' point "wall s" "trial-img/s"
for t in 8 16 32; do
  read -r r _ w <<<"$(run s_t$t --model experiments/models/lenet5.onnx --trials $t --images 250)"
  printf '%-28s %8s %10s\n' "trials $t, images 250" "$w" "$r"
done
for i in 250 500 1000; do
  read -r r _ w <<<"$(run s_i$i --model experiments/models/lenet5.onnx --trials 8 --images $i)"
  printf '%-28s %8s %10s\n' "trials 8, images $i" "$w" "$r"
done
for s in 128 64 32; do
  read -r r _ w <<<"$(run s_r$s --model experiments/models/lenet5.onnx --trials 8 --images 250 --rows $s --cols $s)"
  tiles=$(python3 -c "import json; print(json.load(open('$tmp/s_r$s/summary.json'))['arms'][0]['tiles'])")
  printf '%-28s %8s %10s\n' "tiles ${s}x$s ($tiles per chip)" "$w" "$r"
done

echo
echo "== crossbar stage against OpenBLAS sgemm (same shapes, same cores)"
[ -x "$dir/tests/xbarmc_bench_tile" ] && "$dir/tests/xbarmc_bench_tile" | grep -iE "ratio|cell-MAC|sgemm" || true
