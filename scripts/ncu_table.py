#!/usr/bin/env python3
"""Prints a short table per profiled kernel from Nsight Compute's CSV exports.

scripts/device-profile.sh writes, per crossbar kernel, the report's details page
(`ncu --import R --page details --csv`: one row per kernel, section and metric) and
its raw page (`--page raw --csv`: one row per kernel, one column per metric, a units
row after the header). This prints, per kernel launch: its name, grid, duration, the
throughputs, occupancy, issue activity, the tensor pipe's use and the largest warp
stall reasons, which say what bounds the kernel.

    ncu_table.py DETAILS_CSV [RAW_CSV]
    ncu_table.py --source SOURCE_CSV [N]

The second form reads a source page (`--page source --csv --print-source cuda`: one row
per source line or SASS instruction) and prints the N (12) rows with the most warp stall
samples (or, without sampling, executed instructions): where inside a kernel the time
goes. Metrics a version of ncu does not report are left out; a missing or empty file is
an error (exit 1).
"""
import csv
import re
import sys

# (label, metric name on the details page), in print order.
DETAILS = [
    ("duration", "Duration"),
    ("SM %", "Compute (SM) Throughput"),
    ("mem %", "Memory Throughput"),
    ("DRAM %", "DRAM Throughput"),
    ("occupancy %", "Achieved Occupancy"),
    ("issue busy %", "Issue Slots Busy"),
    ("IPC", "Executed Ipc Active"),
    ("cycles/inst", "Warp Cycles Per Issued Instruction"),
    ("threads/warp", "Avg. Active Threads Per Warp"),
    ("registers", "Registers Per Thread"),
    ("dyn smem", "Dynamic Shared Memory Per Block"),
    ("waves/SM", "Waves Per SM"),
]
STALL = re.compile(r"issue_stalled_([a-z_]+?)_per_(?:issue|warp)_active\.(?:ratio|pct)$")
TENSOR = re.compile(r"pipe_tensor.*pct_of_peak_sustained_active$")


def short_name(name):
    """'void ns::warp_crossbar_kernel<false, 8>(ns::LayerParams, ...)' -> 'warp_crossbar_kernel<false, 8>'."""
    name = name.strip()
    if name.startswith("void "):
        name = name[5:]
    depth = 0
    for i, ch in enumerate(name):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "(" and depth == 0:
            name = name[:i]
            break
    head, sep, tail = name.partition("<")
    return head.split("::")[-1] + sep + tail


def read_details(path):
    kernels = {}  # ID -> {"name", "grid", "block", metric -> "value unit"}
    with open(path, newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("=="))
        for need in ("ID", "Kernel Name", "Metric Name", "Metric Value"):
            if rows.fieldnames is None or need not in rows.fieldnames:
                raise ValueError(f"{path}: no '{need}' column: not an ncu --page details --csv export")
        for r in rows:
            k = kernels.setdefault(
                r["ID"], {"name": short_name(r["Kernel Name"]), "grid": r.get("Grid Size", ""),
                          "block": r.get("Block Size", ""), "metrics": {}})
            unit = (r.get("Metric Unit") or "").strip()
            value = r["Metric Value"].strip()
            k["metrics"][r["Metric Name"].strip()] = f"{value} {unit}".strip() if unit and unit != "%" else value
    if not kernels:
        raise ValueError(f"{path}: no kernel rows")
    return kernels


def read_raw(path):
    """ID -> (tensor pipe %, [(stall reason, value), ...] largest first)."""
    out = {}
    with open(path, newline="") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("==")))
    if len(rows) < 3 or "ID" not in rows[0]:
        return out
    header = rows[0]
    id_col = header.index("ID")
    for r in rows[2:]:  # rows[1] holds the units
        if len(r) != len(header):
            continue
        tensor, stalls = None, []
        for name, value in zip(header, r):
            try:
                v = float(value.replace(",", ""))
            except ValueError:
                continue
            m = STALL.search(name)
            if m:
                stalls.append((m.group(1), v))
            elif TENSOR.search(name):
                tensor = v if tensor is None else max(tensor, v)
        stalls.sort(key=lambda s: -s[1])
        out[r[id_col]] = (tensor, stalls)
    return out


def number(text):
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return 0.0


def print_source(path, n):
    with open(path, newline="") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("==")))
    # ncu 2025 writes a "Kernel Name" line above the header of a source page.
    if rows and rows[0] and rows[0][0].strip() == "Kernel Name":
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{path}: empty")
    header = [h.strip() for h in rows[0]]
    col = next((i for i, h in enumerate(header) if h.startswith("Warp Stall Sampling (All")), None)
    if col is None:
        col = next((i for i, h in enumerate(header) if h.startswith("Instructions Executed")), None)
    if col is None:
        raise ValueError(f"{path}: no 'Warp Stall Sampling (All Samples)' or 'Instructions Executed' column: "
                         "not an ncu --page source --csv export")
    text = header.index("Source") if "Source" in header else len(header) - 1
    body = [r for r in rows[1:] if len(r) == len(header)]
    total = sum(number(r[col]) for r in body) or 1.0
    print(f"{header[col]}: {total:.0f} in all; the largest {n}:")
    for r in sorted(body, key=lambda r: -number(r[col]))[:n]:
        print(f"  {100.0 * number(r[col]) / total:5.1f}%  {r[0].strip():>6}  {' '.join(r[text].split())[:110]}")
    if header[0] == "Address":
        print_sass_regions(header, body, col, text, n)


def print_sass_regions(header, body, col, text, n, width=64):
    """SASS view (no source lines): single instructions say little, so the hottest runs of
    `width` consecutive instructions, each with its share of the samples, of the executed
    instructions and its most executed opcodes."""
    ex = header.index("Instructions Executed") if "Instructions Executed" in header else col
    total = sum(number(r[col]) for r in body) or 1.0
    total_ex = sum(number(r[ex]) for r in body) or 1.0
    regions = []
    for k in range(0, len(body), width):
        part = body[k:k + width]
        ops = {}
        for r in part:
            words = r[text].split()
            if not words:
                continue
            op = (words[1] if words[0].startswith("@") and len(words) > 1 else words[0]).split(".")[0]
            ops[op] = ops.get(op, 0.0) + number(r[ex])
        top = " ".join(f"{o}:{100.0 * v / total_ex:.1f}" for o, v in sorted(ops.items(), key=lambda x: -x[1])[:5])
        regions.append((sum(number(r[col]) for r in part), sum(number(r[ex]) for r in part), k, top))
    print(f"the hottest runs of {width} instructions (samples %, executed %, opcodes by executed %):")
    for samples, executed, k, top in sorted(regions, reverse=True)[:n]:
        print(f"  {k:5d}-{k + width - 1:5d}  {100.0 * samples / total:5.1f}%  {100.0 * executed / total_ex:5.1f}%  {top}")


def main(argv):
    if len(argv) >= 3 and argv[1] == "--source":
        try:
            print_source(argv[2], int(argv[3]) if len(argv) > 3 else 12)
        except (OSError, ValueError) as e:
            print(f"ncu_table: {e}", file=sys.stderr)
            return 1
        return 0
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: ncu_table.py DETAILS_CSV [RAW_CSV] | --source SOURCE_CSV [N]", file=sys.stderr)
        return 2
    try:
        kernels = read_details(argv[1])
        raw = read_raw(argv[2]) if len(argv) > 2 else {}
    except (OSError, ValueError) as e:
        print(f"ncu_table: {e}", file=sys.stderr)
        return 1
    for kid in sorted(kernels, key=lambda x: int(x) if x.isdigit() else x):
        k = kernels[kid]
        print(f"[{kid}] {k['name']}  grid {k['grid']}  block {k['block']}")
        parts = [f"{label} {k['metrics'][m]}" for label, m in DETAILS if m in k["metrics"]]
        tensor, stalls = raw.get(kid, (None, []))
        if tensor is not None:
            parts.append(f"tensor pipe % {tensor:.1f}")
        for i in range(0, len(parts), 6):
            print("    " + ", ".join(parts[i:i + 6]))
        if stalls:
            print("    stalls (cycles per issue): " + ", ".join(f"{n} {v:.2f}" for n, v in stalls[:4]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
