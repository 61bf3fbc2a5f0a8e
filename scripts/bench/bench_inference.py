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

The two sides are timed alternately, --repeats times each after a warm-up, and the
best rate of each counts (the machine is shared: alternating exposes both to the same
load). Both sides' top-1 accuracy is printed too, as a check that they ran the same
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


class TorchRunner:
    """PyTorch's float inference of the network over the test images."""

    def __init__(self, name, threads, batch, images):
        torch.set_num_threads(threads)
        self.model = tm.build_model(name)
        self.model.load_state_dict(torch.load(os.path.join(ROOT, "experiments", "models", f"{name}.pt")))
        self.model.eval()
        x, y = tm.load_split("test")
        self.x, self.y, self.batch = tm.normalize(x[:images]), y[:images], batch
        with torch.inference_mode():
            self.model(self.x[:batch])  # warm-up

    def run(self):
        """One timed pass: (images/s, top-1 accuracy)."""
        with torch.inference_mode():
            t0 = time.perf_counter()
            preds = [self.model(self.x[i:i + self.batch]).argmax(1) for i in range(0, self.x.shape[0], self.batch)]
            dt = time.perf_counter() - t0
        return self.x.shape[0] / dt, int((torch.cat(preds) == self.y).sum()) / self.x.shape[0]


class XbarmcRunner:
    """`xbarmc eval` of the same network (float only); the rate it reports covers inference only."""

    def __init__(self, exe, name, threads, batch, images):
        self.cmd = [exe, "eval", "--model", os.path.join(ROOT, "experiments", "models", f"{name}.onnx"), "--data",
                    DATA, "--quantized", "false", "--json", "--threads", str(threads), "--batch", str(batch),
                    "--images", str(images)]
        subprocess.run(self.cmd, check=True, capture_output=True)  # warm-up (page cache)

    def run(self):
        out = json.loads(subprocess.run(self.cmd, check=True, capture_output=True, text=True).stdout)
        return out["float"]["images_per_s"], out["float"]["accuracy"]["top1"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="resnet20", choices=list(tm.RECIPES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=32, help="xbarmc images per batch and thread")
    ap.add_argument("--torch-batch", type=int, default=64,
                    help="PyTorch images per batch (64 was its fastest for resnet20 here, of 16 to 1000)")
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
    torch_runner = TorchRunner(args.model, args.threads, args.torch_batch, args.images)
    xbarmc_runner = XbarmcRunner(args.xbarmc, args.model, args.threads, args.batch, args.images)
    # Alternate the two so that a burst of load from other processes hits both alike.
    t_rate = x_rate = 0.0
    for _ in range(args.repeats):
        rate, t_acc = torch_runner.run()
        t_rate = max(t_rate, rate)
        rate, x_acc = xbarmc_runner.run()
        x_rate = max(x_rate, rate)
    print(f"  PyTorch {torch.__version__} (eager, batch {args.torch_batch}): {t_rate:9.0f} images/s "
          f"(top-1 {100 * t_acc:.2f} %)")
    print(f"  xbarmc eval (batch {args.batch} per thread):   {x_rate:9.0f} images/s (top-1 {100 * x_acc:.2f} %)")
    print(f"  ratio xbarmc / PyTorch: {x_rate / t_rate:.2f}")


if __name__ == "__main__":
    main()
