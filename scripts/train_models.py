#!/usr/bin/python3
"""Trains the four reference networks of xbarmc on Fashion-MNIST and exports them.

    /usr/bin/python3 scripts/train_models.py [--only NAME ...] [--out experiments/models]

Needs Debian's python3-torch and python3-numpy (scripts/setup.sh --train); reads the
IDX files of Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) and
downloads nothing. CPU only, fixed seeds, 2 threads. For each network NAME it writes
into the output folder:

    NAME.onnx   the network, exported by torch.onnx.export (batch dimension dynamic)
    NAME.json   its card: float test accuracy, normalization, input shape, class
                names, the recipe, opset, torch version, sha256 of NAME.onnx, and the
                float logits of the first 64 test images as PyTorch computes them
    NAME.pt     the state_dict (for scripts/bench/bench_inference.py)

The networks: lenet5 (LeNet-5), vgg (VGG-style with BatchNorm), resnet20 (ResNet-20
style with residual adds), vit (a small vision transformer). Their classes are
importable (`build_model(name)`) so other scripts can rebuild them.
"""

import os

# One BLAS thread: torch parallelizes with OpenMP itself, and a pthread OpenBLAS beside it
# oversubscribes the cores (15x slower on a 2-core machine). Must be set before torch loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import gzip
import hashlib
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
# Per-channel statistics of the Fashion-MNIST training images scaled to [0, 1]
# (computed once with fmnist_stats(); recorded here so every model uses the same).
MEAN = [0.2860405969887955]
STD = [0.35302424451492237]
THREADS = 2
LOGIT_IMAGES = 64


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------
def read_idx(path):
    """Reads an IDX file (gzip or plain) into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load_split(split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)  # N x 1 x 28 x 28 in [0, 1]
    y = torch.from_numpy(y.astype(np.int64))
    return x, y


def normalize(x):
    return (x - MEAN[0]) / STD[0]


def fmnist_stats():
    x, _ = load_split("train")
    return float(x.mean()), float(x.std())


def augment(x, gen, crop_pad, flip):
    """Random crop with zero padding (0 = background before normalization) and horizontal flip."""
    n = x.shape[0]
    if crop_pad > 0:
        p = crop_pad
        padded = F.pad(x, (p, p, p, p))
        ox = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        oy = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        out = torch.empty_like(x)
        for i in range(n):
            out[i] = padded[i, :, oy[i]:oy[i] + 28, ox[i]:ox[i] + 28]
        x = out
    if flip:
        mask = torch.rand(n, generator=gen) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x


# ----------------------------------------------------------------------------
# Networks (all take N x 1 x 28 x 28 normalized images, return N x 10 logits)
# ----------------------------------------------------------------------------
class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) with ReLU and max pooling; 28x28 input padded by 2 as in the 32x32 original."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def conv_bn(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class VGGNet(nn.Module):
    """VGG-style: 3x3 conv + BatchNorm + ReLU stacks, max pooling, a BatchNorm1d classifier head."""

    def __init__(self, widths=(32, 64, 128)):
        super().__init__()
        a, b, c = widths
        self.features = nn.Sequential(
            conv_bn(1, a), conv_bn(a, a), nn.MaxPool2d(2),  # 14x14
            conv_bn(a, b), conv_bn(b, b), nn.MaxPool2d(2),  # 7x7
            conv_bn(b, c), nn.MaxPool2d(2))  # 3x3
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(c * 9, 128, bias=False), nn.BatchNorm1d(128),
            nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + identity)


class ResNet20(nn.Module):
    """ResNet-20 (He et al. 2016, CIFAR variant): 3 stages x 3 basic blocks, projection shortcuts."""

    def __init__(self, width=16):
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(1, w, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        layers = []
        cin = w
        for stage, cout in enumerate((w, 2 * w, 4 * w)):
            for i in range(3):
                stride = 2 if (stage > 0 and i == 0) else 1
                layers.append(BasicBlock(cin, cout, stride))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * (self.head_dim ** -0.5)
        attn = attn.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out)


class Block(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """A small vision transformer: 4x4 patch embedding (a strided conv), a class token, learned position
    embeddings, pre-norm blocks (multi-head attention, GELU MLP), LayerNorm, a linear head on the class token."""

    def __init__(self, patch=4, dim=64, depth=4, heads=4, mlp=128):
        super().__init__()
        self.embed = nn.Conv2d(1, dim, patch, stride=patch)
        tokens = (28 // patch) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)  # N x tokens x dim
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


# ----------------------------------------------------------------------------
# Recipes: the architecture and the training schedule of each network
# ----------------------------------------------------------------------------
RECIPES = {
    "lenet5": dict(architecture="LeNet-5: conv5x5(6, pad 2)-ReLU-maxpool2, conv5x5(16)-ReLU-maxpool2, "
                                "FC 400-120-84-10 with ReLU",
                   build=lambda: LeNet5(), epochs=12, batch_size=128, optimizer="AdamW", lr=3e-3,
                   weight_decay=1e-4, schedule="OneCycle (cosine anneal, 30% warm-up)", crop_pad=0, flip=True,
                   seed=1, opset=13),
    "vgg": dict(architecture="VGG-style: [conv3x3-BN-ReLU]x2 (32) maxpool, [conv3x3-BN-ReLU]x2 (64) maxpool, "
                             "conv3x3-BN-ReLU (128) maxpool, dropout 0.3, FC 1152-128 + BatchNorm1d + ReLU, "
                             "dropout 0.3, FC 128-10",
                build=lambda: VGGNet(), epochs=8, batch_size=128, optimizer="AdamW", lr=4e-3, weight_decay=5e-4,
                schedule="OneCycle (cosine anneal, 30% warm-up)", crop_pad=2, flip=True, seed=2, opset=15),
    "resnet20": dict(architecture="ResNet-20 style (CIFAR variant): conv3x3(16)-BN-ReLU, 3 stages x 3 basic "
                                  "blocks (16, 32, 64 channels; stride 2 at stages 2, 3; 1x1 conv+BN projection "
                                  "shortcuts), global average pool, FC 64-10",
                     build=lambda: ResNet20(16), epochs=8, batch_size=128, optimizer="AdamW", lr=4e-3,
                     weight_decay=5e-4, schedule="OneCycle (cosine anneal, 30% warm-up)", crop_pad=2, flip=True,
                     seed=3, opset=16),
    "vit": dict(architecture="ViT: 4x4 patches (49 tokens) + class token, dim 64, depth 4, 4 heads, MLP 128 with "
                             "GELU, pre-norm LayerNorm, learned position embedding, linear head on the class token",
                build=lambda: ViT(), epochs=15, batch_size=128, optimizer="AdamW", lr=2e-3, weight_decay=5e-2,
                schedule="OneCycle (cosine anneal, 30% warm-up)", crop_pad=2, flip=True, seed=4, opset=17),
}


def build_model(name):
    """The untrained network `name` (lenet5, vgg, resnet20, vit)."""
    return RECIPES[name]["build"]()


def evaluate(model, x, y, batch=1000):
    model.eval()
    logits = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            logits.append(model(normalize(x[i:i + batch])))
    logits = torch.cat(logits)
    correct = int((logits.argmax(1) == y).sum())
    top5 = int((logits.topk(5, dim=1).indices == y[:, None]).any(1).sum())
    return logits, correct, top5


def train(name, out_dir, epochs_override=None, log=print):
    r = RECIPES[name]
    epochs = epochs_override or r["epochs"]
    torch.manual_seed(r["seed"])
    np.random.seed(r["seed"])
    gen = torch.Generator().manual_seed(r["seed"])
    xtr, ytr = load_split("train")
    xte, yte = load_split("test")
    model = r["build"]()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=r["lr"], weight_decay=r["weight_decay"])
    steps_per_epoch = math.ceil(xtr.shape[0] / r["batch_size"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=r["lr"], epochs=epochs, steps_per_epoch=steps_per_epoch,
                                                pct_start=0.3)
    log(f"[{name}] {params} parameters, {epochs} epochs, batch {r['batch_size']}")
    start = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        total, seen = 0.0, 0
        for i in range(0, xtr.shape[0], r["batch_size"]):
            idx = perm[i:i + r["batch_size"]]
            xb = normalize(augment(xtr[idx], gen, r["crop_pad"], r["flip"]))
            loss = F.cross_entropy(model(xb), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * idx.shape[0]
            seen += idx.shape[0]
        _, correct, _ = evaluate(model, xte, yte)
        log(f"[{name}] epoch {epoch + 1}/{epochs}: loss {total / seen:.4f}, test {100.0 * correct / xte.shape[0]:.2f} %, "
            f"{time.time() - start:.0f} s")
    wall = time.time() - start

    model.eval()
    logits, correct, top5 = evaluate(model, xte, yte)
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, f"{name}.onnx")
    tmp = onnx_path + ".tmp"
    torch.onnx.export(model, normalize(xte[:1]), tmp, opset_version=r["opset"], input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    os.replace(tmp, onnx_path)
    torch.save(model.state_dict(), os.path.join(out_dir, f"{name}.pt"))
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    card = {
        "name": name,
        "file": f"{name}.onnx",
        "sha256": sha,
        "framework": f"PyTorch {torch.__version__} (torch.onnx.export)",
        "torch_version": torch.__version__,
        "opset": r["opset"],
        "dataset": "Fashion-MNIST (Debian dataset-fashion-mnist, IDX)",
        "input_shape": [1, 28, 28],
        "num_classes": 10,
        "class_names": CLASS_NAMES,
        "normalization": {"mean": MEAN, "std": STD, "layout": "NCHW", "scale": "pixels / 255 before (x - mean) / std"},
        "float_test_accuracy": correct / xte.shape[0],
        "float_test_top5_accuracy": top5 / xte.shape[0],
        "float_test_correct": correct,
        "test_images": int(xte.shape[0]),
        "parameters": params,
        "recipe": {
            "architecture": r["architecture"],
            "epochs": epochs,
            "optimizer": f"{r['optimizer']} (weight decay {r['weight_decay']})",
            "lr_schedule": f"{r['schedule']}, max lr {r['lr']}",
            "batch_size": r["batch_size"],
            "seed": r["seed"],
            "augmentation": (f"random crop with {r['crop_pad']}-pixel zero padding, " if r["crop_pad"] else "")
                            + ("horizontal flip p=0.5" if r["flip"] else "none"),
            "loss": "cross entropy",
            "threads": THREADS,
            "wall_time_s": round(wall, 1),
        },
        "logits_first_images": LOGIT_IMAGES,
        "logits": [[float(v) for v in row] for row in logits[:LOGIT_IMAGES].tolist()],
    }
    with open(os.path.join(out_dir, f"{name}.json.tmp"), "w") as f:
        json.dump(card, f, indent=1)
        f.write("\n")
    os.replace(os.path.join(out_dir, f"{name}.json.tmp"), os.path.join(out_dir, f"{name}.json"))
    size = os.path.getsize(onnx_path)
    log(f"[{name}] done: test accuracy {100.0 * correct / xte.shape[0]:.2f} % (top-5 {100.0 * top5 / xte.shape[0]:.2f} %), "
        f"{size / 1e6:.2f} MB, {wall:.0f} s")
    if size >= 5e6:
        raise SystemExit(f"{onnx_path}: {size} bytes, over the 5 MB limit")
    return card


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=list(RECIPES), help="train only these networks")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "experiments",
                                                  "models"), help="output folder")
    ap.add_argument("--epochs", type=int, help="override the recipe's epochs (for quick checks only)")
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)

    def log(msg):
        print(msg, flush=True)

    for name in args.only or list(RECIPES):
        train(name, os.path.normpath(args.out), args.epochs, log)


if __name__ == "__main__":
    main()
