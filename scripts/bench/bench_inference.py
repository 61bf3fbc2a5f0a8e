#!/usr/bin/python3
"""Float inference speed of xbarmc against PyTorch's CPU inference of the same network.

    /usr/bin/python3 scripts/bench/bench_inference.py [--model resnet20] [--threads 2] [--repeats 3]
        [--xbarmc build/host/xbarmc]

Both run the network's float inference over the Fashion-MNIST test images
(/usr/share/datasets/fashion-mnist) on the same CPU threads, in the same run:

  * PyTorch: the training script's class (scripts/train_models.py) with the weights
    saved beside the ONNX file (experiments/models/NAME.pt), eval mode,
    torch.inference_mode(), batches of --torch-batch images, `--threads` intra-op threads;
  * xbarmc: `xbarmc eval --quantized false --json` on experiments/models/NAME.onnx
    (OpenMP over batches of --batch images, single-threaded OpenBLAS per thread).

Each side is timed --repeats times after a warm-up; the best rate counts (the machine is
shared). Both sides' top-1 accuracy is printed too, as a check that they ran the same
network. Needs python3-torch (scripts/setup.sh --train).
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in train_models.py: torch uses OpenMP
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import torch  # noqa: E402

import train_models as tm  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def bench_torch(name, threads, batch, repeats, images):
    torch.set_num_threads(threads)
    model = tm.build_model(name)
    model.load_state_dict(torch.load(os.path.join(ROOT, "experiments", "models", f"{name}.pt")))
    model.eval()
    x, y = tm.load_split("test")
    x, y = tm.normalize(x[:images]), y[:images]
    best, correct = 0.0, 0
    with torch.inference_mode():
        model(x[:batch])  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            preds = [model(x[i:i + batch]).argmax(1) for i in range(0, x.shape[0], batch)]
            dt = time.perf_counter() - t0
            best = max(best, x.shape[0] / dt)
            correct = int((torch.cat(preds) == y).sum())
    return best, correct / x.shape[0]


def bench_xbarmc(exe, name, threads, batch, repeats, images):
    cmd = [exe, "eval", "--model", os.path.join(ROOT, "experiments", "models", f"{name}.onnx"), "--data", DATA,
           "--quantized", "false", "--json", "--threads", str(threads), "--batch", str(batch), "--images",
           str(images)]
    best, acc = 0.0, None
    subprocess.run(cmd, check=True, capture_output=True)  # warm-up (page cache)
    for _ in range(repeats):
        out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        best = max(best, out["float"]["images_per_s"])
        acc = out["float"]["accuracy"]["top1"]
    return best, acc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="resnet20", choices=list(tm.RECIPES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=32, help="xbarmc images per batch and thread")
    ap.add_argument("--torch-batch", type=int, default=256, help="PyTorch images per batch")
    ap.add_argument("--xbarmc", default=os.path.join(ROOT, "build", "host", "xbarmc"))
    args = ap.parse_args()

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"{args.model}: float inference of {args.images} Fashion-MNIST test images, {args.threads} threads, "
          f"{cpu} ({os.cpu_count()} logical CPUs), best of {args.repeats}")
    t_rate, t_acc = bench_torch(args.model, args.threads, args.torch_batch, args.repeats, args.images)
    print(f"  PyTorch {torch.__version__} (eager, batch {args.torch_batch}): {t_rate:9.0f} images/s "
          f"(top-1 {100 * t_acc:.2f} %)")
    x_rate, x_acc = bench_xbarmc(args.xbarmc, args.model, args.threads, args.batch, args.repeats, args.images)
    print(f"  xbarmc eval (batch {args.batch} per thread):   {x_rate:9.0f} images/s (top-1 {100 * x_acc:.2f} %)")
    print(f"  ratio xbarmc / PyTorch: {x_rate / t_rate:.2f}")


if __name__ == "__main__":
    main()
