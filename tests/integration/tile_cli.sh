#!/usr/bin/env bash
# `xbarmc tile` end to end: help, text and JSON output, the netlist file, and usage
# errors naming their key (exit code 2).
# Usage: tile_cli.sh PATH/TO/xbarmc
set -u
X="$1"
source "$(dirname "$0")/common.sh"

expect 0 'Usage: xbarmc tile --rows R' -- "$X" tile --help
expect 0 'r-wire' -- "$X" tile --help
expect 0 'tile' -- "$X" --help
expect 0 '^ +3  +[0-9.]+e-0[0-9]' -- "$X" tile --rows 5 --cols 4 --seed 2 --ir-drop exact
expect 0 '"currents_a"' -- "$X" tile --rows 5 --cols 4 --seed 2 --ir-drop static --json
expect 0 'error bound' -- "$X" tile --rows 6 --cols 6 --ir-drop iterative
expect 0 'netlist written' -- "$X" tile --rows 3 --cols 2 --spice-out "$tmp/t.cir"
if ! grep -q '^Vsense1 s1 0 DC 0$' "$tmp/t.cir"; then echo "FAIL: netlist lacks Vsense1"; fail=1; fi
# The same seed draws the same tile; another seed another one.
"$X" tile --rows 4 --cols 4 --seed 9 --json >"$tmp/a.json"
"$X" tile --rows 4 --cols 4 --seed 9 --json >"$tmp/b.json"
"$X" tile --rows 4 --cols 4 --seed 10 --json >"$tmp/c.json"
if ! cmp -s "$tmp/a.json" "$tmp/b.json"; then echo "FAIL: same seed, different tile"; fail=1; fi
if cmp -s "$tmp/a.json" "$tmp/c.json"; then echo "FAIL: different seeds, same tile"; fail=1; fi
expect 2 'rows: must be between 1 and 4096' -- "$X" tile --rows 0
expect 2 '^xbarmc: error: g_min: must be below g_max' -- "$X" tile --g-min 1e-3 --g-max 1e-4
expect 2 'r_wire: ir_drop = exact' -- "$X" tile --r-wire 0 --ir-drop exact
expect 2 "ir_drop: 'fast' is not allowed" -- "$X" tile --ir-drop fast
expect 2 'p_stuck_off \+ p_stuck_on must not exceed 1' -- "$X" tile --p-stuck-off 0.7 --p-stuck-on 0.7
expect 1 'did not converge' -- "$X" tile --rows 8 --cols 8 --ir-drop iterative --ir-tol 1e-15 --ir-max-iter 1
expect 1 'no-such-dir' -- "$X" tile --rows 2 --cols 2 --spice-out "$tmp/no-such-dir/t.cir"
exit $fail
