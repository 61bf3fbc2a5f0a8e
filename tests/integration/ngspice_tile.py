#!/usr/bin/env python3
"""`xbarmc tile` against ngspice on random tiles of several sizes (non-square too),
wire resistances and cell models.

For each tile, `xbarmc tile --spice-out` writes the circuit, `ngspice -b` solves it, and
the column currents of every IR-drop mode are compared with ngspice's:
  exact      within 1e-6 relative (the requirement);
  iterative  within the error bound the command reports (g_sense ||r|| / lambda_min,
             from its final residual) plus 1e-6 relative for ngspice;
  static     its error printed (a model error, not a tolerance);
  none       its error printed (what ignoring the wires costs).

Usage: ngspice_tile.py PATH/TO/xbarmc [--table]   (--table prints a Markdown summary)
"""
import json
import os
import re
import subprocess
import sys
import tempfile

TILES = [
    # rows, cols, extra options
    (4, 3, ["--r-wire", "2", "--g-max", "1e-3", "--seed", "3"]),
    (8, 8, ["--r-wire", "1", "--g-max", "1e-3", "--seed", "5"]),
    (12, 5, ["--r-wire", "0.5", "--r-driver", "10", "--r-sense", "5", "--seed", "7"]),
    (5, 16, ["--r-wire", "5", "--g-max", "1e-3", "--dac-bits", "2", "--seed", "11"]),
    (16, 16, ["--r-wire", "1", "--g-max", "1e-3", "--variation", "normal", "--sigma", "0.1",
              "--p-stuck-off", "0.05", "--p-stuck-on", "0.05", "--seed", "13"]),
    (24, 10, ["--r-wire", "2", "--g-max", "5e-4", "--g-min", "1e-5", "--bits-per-cell", "4", "--seed", "17"]),
]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def spice_currents(netlist, cols):
    out = run(["ngspice", "-b", netlist])
    found = {int(m.group(1)): float(m.group(2))
             for m in re.finditer(r"^i\(vsense(\d+)\)\s*=\s*(\S+)", out, re.MULTILINE)}
    if sorted(found) != list(range(cols)):
        sys.exit(f"FAIL: ngspice printed currents for columns {sorted(found)}, expected 0..{cols - 1}\n{out}")
    return [found[c] for c in range(cols)]


def main():
    xbarmc = sys.argv[1]
    if subprocess.run(["sh", "-c", "command -v ngspice"], capture_output=True).returncode != 0:
        print("SKIP: ngspice is not installed (scripts/setup.sh installs it)")
        return 77
    table = "--table" in sys.argv[2:]
    failures = 0
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows, cols, extra in TILES:
            base = [xbarmc, "tile", "--rows", str(rows), "--cols", str(cols), "--json"] + extra
            netlist = os.path.join(tmp, f"tile_{rows}x{cols}.cir")
            results = {}
            for mode in ("exact", "iterative", "static", "none"):
                cmd = base + ["--ir-drop", mode]
                if mode == "exact":
                    cmd += ["--spice-out", netlist]
                results[mode] = json.loads(run(cmd))
            spice = spice_currents(netlist, cols)
            r_wire = results["exact"]["r_wire_ohm"]
            line = {"tile": f"{rows} x {cols}", "r_wire": r_wire}
            for mode, res in results.items():
                cur = res["currents_a"]
                rel = max(abs(a - b) / max(abs(b), 1e-30) for a, b in zip(cur, spice))
                line[mode] = rel
                if mode == "exact" and rel > 1e-6:
                    print(f"FAIL: {rows} x {cols} exact: relative error {rel:.3g} > 1e-6")
                    failures += 1
                if mode == "iterative":
                    bound = res["error_bound_a"]
                    worst = max(abs(a - b) - (bound + 1e-6 * abs(b)) for a, b in zip(cur, spice))
                    line["iterations"] = res["iterations"]
                    line["residual"] = res["relative_residual"]
                    line["bound_rel"] = bound / max(abs(b) for b in spice)
                    if worst > 0:
                        print(f"FAIL: {rows} x {cols} iterative: error exceeds its bound {bound:.3g} A by {worst:.3g} A")
                        failures += 1
            print(f"ok: {line['tile']:>7}, r_wire {r_wire:g} ohm: max relative error vs ngspice: exact {line['exact']:.2e}, "
                  f"iterative {line['iterative']:.2e} ({line['iterations']} iterations, residual "
                  f"{line['residual']:.1e}), static {line['static']:.2e}, none {line['none']:.2e}")
            rows_out.append(line)
    if table:
        print("\n| tile | r_wire (ohm) | exact | iterative | static | none (no wires) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for l in rows_out:
            print(f"| {l['tile']} | {l['r_wire']:g} | {l['exact']:.1e} | {l['iterative']:.1e} | "
                  f"{l['static']:.1e} | {l['none']:.1e} |")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
