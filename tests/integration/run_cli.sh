#!/usr/bin/env bash
# `xbarmc run` end to end on the bundled LeNet-5 and Fashion-MNIST: the run
# directory, determinism (threads, batch sizes, trial ranges, rerun from
# config.ini, seeds), the margin gate's exit codes, --until-decided, and bad input.
# Usage: run_cli.sh PATH/TO/xbarmc SOURCE_DIR
set -u
X="$1"
SRC="$2"
source "$(dirname "$0")/common.sh"
MODEL="$SRC/experiments/models/lenet5.onnx"
DATA=/usr/share/datasets/fashion-mnist
common=(run --model "$MODEL" --images 60 --calib-images 64 --progress off)
base=("${common[@]}" --data "$DATA" --trials 6)

expect 0 'Usage: xbarmc run' -- "$X" run --help
expect 0 'top-1 accuracy over chips' -- "$X" "${base[@]}" --out "$tmp/a" --threads 2
for f in config.ini trials.csv summary.json; do
  [ -s "$tmp/a/$f" ] && echo "ok: $f written" || { echo "FAIL: $f missing"; fail=1; }
done
[ "$(wc -l <"$tmp/a/trials.csv")" -eq 7 ] && echo "ok: 6 trial rows" || { echo "FAIL: rows"; fail=1; }
python3 - "$tmp/a/summary.json" <<'PY' || fail=1
import json, sys
s = json.load(open(sys.argv[1]))
need = ["trials", "images", "seed", "float_accuracy", "quantized_accuracy", "arms", "requirements", "provenance"]
missing = [k for k in need if k not in s]
acc = s["arms"][0]["accuracy"]
missing += [k for k in ["mean", "std", "min", "max", "p01", "p05", "p50", "p95", "mean_ci95", "p05_ci95",
                        "p01_ci95"] if k not in acc]
missing += [k for k in ["version", "git_commit", "backend", "device", "threads", "wall_seconds", "command_line"]
            if k not in s["provenance"]]
assert not missing, f"summary.json lacks {missing}"
assert s["trials"] == 6 and s["images"] == 60, (s["trials"], s["images"])
assert 0.0 < acc["mean"] <= 1.0 and acc["min"] <= acc["p50"] <= acc["max"]
print("ok: summary.json has the required keys")
PY

# Determinism: 1 thread, other batch sizes, a split into trial ranges, a rerun of config.ini.
expect 0 '' -- "$X" "${base[@]}" --out "$tmp/b" --threads 1 --image-batch 7 --trial-batch 3
same "$tmp/a/trials.csv" "$tmp/b/trials.csv" "same trials.csv for 2 vs 1 threads and other batch sizes"
expect 0 '' -- "$X" "${base[@]}" --out "$tmp/c1" --trial-range 0:2
expect 0 '' -- "$X" "${base[@]}" --out "$tmp/c2" --trial-range 2:6
(cat "$tmp/c1/trials.csv"; tail -n +2 "$tmp/c2/trials.csv") >"$tmp/c.csv"
same "$tmp/a/trials.csv" "$tmp/c.csv" "trials [0,2) + [2,6) equal trials [0,6)"
expect 0 '' -- "$X" run --config "$tmp/a/config.ini" --out "$tmp/d"
same "$tmp/a/trials.csv" "$tmp/d/trials.csv" "a rerun of config.ini reproduces trials.csv"
expect 0 '' -- "$X" "${base[@]}" --out "$tmp/e" --seed 2
differ "$tmp/a/trials.csv" "$tmp/e/trials.csv" "another seed gives other chips"

# --profile: profile.csv names every stage that ran, and results are unchanged.
expect 0 'time by stage' -- "$X" "${base[@]}" --out "$tmp/p" --threads 2 --profile
same "$tmp/a/trials.csv" "$tmp/p/trials.csv" "--profile leaves trials.csv unchanged"
python3 - "$tmp/p/profile.csv" <<'PY' || fail=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
stages = {r["stage"]: r for r in rows}
layers = ["/conv1/Conv", "/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm", "/fc3/Gemm"]
for l in layers:
    assert stages[f"chips {l}"]["kind"] == "chips" and int(stages[f"chips {l}"]["calls"]) == 6, stages.get(f"chips {l}")
    op = l.split("/")[-1]
    assert stages[f"{op} {l}"]["kind"] == "crossbar", stages.get(f"{op} {l}")
assert any(r["kind"] == "digital" and r["stage"].startswith("MaxPool") for r in rows), rows
assert all(float(r["seconds"]) >= 0 and int(r["calls"]) > 0 for r in rows), rows
assert abs(sum(float(r["share"]) for r in rows) - 1) < 1e-4, sum(float(r["share"]) for r in rows)
crossbar = sum(float(r["seconds"]) for r in rows if r["kind"] == "crossbar")
assert crossbar > 0.5 * sum(float(r["seconds"]) for r in rows), "the crossbar reads are most of a LeNet-5 run"
print(f"ok: profile.csv has {len(rows)} stages, chips and crossbar of every layer")
PY
[ -e "$tmp/a/profile.csv" ] && { echo "FAIL: profile.csv without --profile"; fail=1; }

# Arms share chips: an arm equal to the base has a zero paired difference.
expect 0 'paired difference' -- "$X" "${base[@]}" --out "$tmp/f" --arm "one:sigma=0.05" --arm "two:sigma=0.05"
grep -q '"mean": 0.0' "$tmp/f/summary.json" && echo "ok: identical arms, zero paired difference" ||
  { echo "FAIL: identical arms differ"; fail=1; }

# The margin gate: pass, fail, undecided; until decided.
expect 0 'verdict: pass' -- "$X" "${base[@]}" --out "$tmp/g1" --require "mean>=0.05"
expect 3 'verdict: fail' -- "$X" "${base[@]}" --out "$tmp/g2" --require "mean_drop<=-0.5"
expect 4 'verdict: undecided' -- "$X" "${base[@]}" --out "$tmp/g3" --require "p01>=0.5"
expect 0 'verdict: pass' -- "$X" "${common[@]}" --data "$DATA" --out "$tmp/g4" --trials 2 --until-decided --max-trials 12 \
  --require "mean>=0.2"

# Bad input: clear errors, exit 2 or 1, nothing half-written.
expect 2 "out: .* already exists" -- "$X" "${base[@]}" --out "$tmp/a"
expect 2 "no_such_key" -- "$X" "${base[@]}" --out "$tmp/h" --arm "no_such_key=1"
expect 2 "p05>=" -- "$X" "${base[@]}" --out "$tmp/h" --require "p05>=>0.8"
expect 2 "p05>=85" -- "$X" "${base[@]}" --out "$tmp/h" --require "p05>=85"
expect 2 "model: a value is required" -- "$X" run --data "$DATA" --out "$tmp/h"
python3 -c "import numpy as np; np.save('$tmp/rgb.npy', np.zeros((4, 3, 32, 32), np.float32)); np.save('$tmp/rgb_labels.npy', np.zeros(4, np.int64))"
expect 1 "rgb.npy" -- "$X" "${common[@]}" --out "$tmp/h" --data "$tmp/rgb.npy" --labels "$tmp/rgb_labels.npy"
# Out of space while writing results (a file-size limit makes writes fail like a full disk).
(ulimit -f 2; "$X" "${common[@]}" --data "$DATA" --out "$tmp/h" --trials 2 >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc")
if [ "$(cat "$tmp/rc")" -eq 1 ] && grep -q "cannot write" "$tmp/err"; then echo "ok: write failure is an error"; else
  echo "FAIL: write failure: rc $(cat "$tmp/rc")"; cat "$tmp/err"; fail=1; fi
for d in h; do [ -e "$tmp/$d" ] && { echo "FAIL: $tmp/$d was left behind"; fail=1; }; done
ls -a "$tmp" | grep -q partial && { echo "FAIL: a staging directory was left behind"; fail=1; }
exit $fail
