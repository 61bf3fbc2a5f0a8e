#!/usr/bin/env python3
"""Plots of an `xbarmc run` directory (Debian's python3-matplotlib):
RUN_DIR/accuracy.png  histogram of the per-trial top-1 accuracy of each arm, with the
                      float and digitally quantized baselines and the p05 line;
RUN_DIR/layers.png    mean relative RMS output error of each weight layer, per arm.

    scripts/plot_run.py RUN_DIR [--out DIR]
"""
import argparse
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_atomic(fig, path):
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--out", help="directory for the PNG files (default: the run directory)")
    a = ap.parse_args()
    try:
        summary = json.load(open(os.path.join(a.run_dir, "summary.json")))
        rows = list(csv.DictReader(open(os.path.join(a.run_dir, "trials.csv"))))
    except (OSError, ValueError) as e:
        sys.exit(f"plot_run.py: {a.run_dir} is not a readable run directory: {e}")
    out = a.out or a.run_dir
    arms = [arm["name"] for arm in summary["arms"]]

    fig, ax = plt.subplots(figsize=(7, 4))
    for arm in arms:
        acc = [100 * float(r["top1"]) for r in rows if r["arm"] == arm]
        ax.hist(acc, bins=min(30, max(5, len(acc) // 3)), alpha=0.6, label=f"{arm} ({len(acc)} chips)")
    ax.axvline(100 * summary["float_accuracy"], color="k", ls="--", label="float")
    ax.axvline(100 * summary["quantized_accuracy"], color="gray", ls=":", label="digital quantized")
    p05 = summary["arms"][0]["accuracy"].get("p05")
    if p05 is not None:
        ax.axvline(100 * p05, color="C3", ls="-.", label=f"{arms[0]} p05")
    ax.set_xlabel("top-1 accuracy of a chip (%)")
    ax.set_ylabel("chips")
    ax.set_title(f"{os.path.basename(summary['model'])}: {summary['images']} images, {summary['trials']} chips")
    ax.legend(fontsize=8)
    save_atomic(fig, os.path.join(out, "accuracy.png"))

    layers = summary["layers"]
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(layers) + 2), 4))
    width = 0.8 / len(arms)
    for k, arm in enumerate(summary["arms"]):
        err = [100 * (arm["layer_rel_rms_error_mean"].get(l) or 0.0) for l in layers]
        ax.bar([i + k * width for i in range(len(layers))], err, width, label=arm["name"])
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(layers))])
    ax.set_xticklabels(layers, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("relative RMS output error (%)")
    ax.set_title("per-layer error against the float layer, mean over chips")
    ax.legend(fontsize=8)
    save_atomic(fig, os.path.join(out, "layers.png"))
    print(f"wrote {os.path.join(out, 'accuracy.png')} and {os.path.join(out, 'layers.png')}")


if __name__ == "__main__":
    main()
