#!/usr/bin/env bash
# `xbarmc eval` end to end: a real model on real data (JSON output, --dump-logits
# against PyTorch's logits in the card), and every bad input the issue lists, each
# with its exit code and a message naming the file.
# Usage: eval_cli.sh PATH/TO/xbarmc SOURCE_DIR
set -u
X="$1"
SRC="$2"
DATA=/usr/share/datasets/fashion-mnist
MODEL="$SRC/experiments/models/lenet5.onnx"
PY=/usr/bin/python3
source "$(dirname "$0")/common.sh"

expect 0 'Usage: xbarmc eval' -- "$X" eval --help
expect 0 'weight-bits|weight_bits' -- "$X" eval --help
expect 2 'model: a value is required' -- "$X" eval --data "$DATA"
expect 2 "weight_bits: must be" -- "$X" eval --model "$MODEL" --data "$DATA" --weight-bits 1

# Bad models.
expect 1 "cannot open" -- "$X" eval --model "$tmp/none.onnx" --data "$DATA"
expect 1 "Hardmax \(node 'head/Hardmax'\).*Supported operators: .*Conv" -- \
  "$X" eval --model "$SRC/tests/data/unsupported_op.onnx" --data "$DATA"
head -c 30000 "$MODEL" >"$tmp/cut.onnx"
expect 1 "$tmp/cut.onnx: " -- "$X" eval --model "$tmp/cut.onnx" --data "$DATA"
printf 'this is not a model\n' >"$tmp/text.onnx"
expect 1 "$tmp/text.onnx: not an ONNX model" -- "$X" eval --model "$tmp/text.onnx" --data "$DATA"

if [ ! -d "$DATA" ]; then
  echo "FAIL: the data checks need dataset-fashion-mnist ($DATA): run scripts/setup.sh"
  exit 1
fi

# Bad data.
gzip -dc "$DATA/t10k-images-idx3-ubyte.gz" | head -c 100000 >"$tmp/t10k-images-idx3-ubyte"
expect 1 "$tmp/t10k-images-idx3-ubyte: truncated" -- "$X" eval --model "$MODEL" --data "$tmp/t10k-images-idx3-ubyte"
head -c 200000 "$DATA/t10k-images-idx3-ubyte.gz" >"$tmp/cut-images-idx3-ubyte.gz"
expect 1 "$tmp/cut-images-idx3-ubyte.gz: .*gzip" -- "$X" eval --model "$MODEL" --data "$tmp/cut-images-idx3-ubyte.gz"
expect 1 "train-labels-idx1-ubyte.gz: 60000 labels for 10000 images" -- \
  "$X" eval --model "$MODEL" --data "$DATA/t10k-images-idx3-ubyte.gz" --labels "$DATA/train-labels-idx1-ubyte.gz"
expect 1 "no such file" -- "$X" eval --model "$MODEL" --data "$tmp/nothing-here.idx"

# The real thing: LeNet-5 on 500 test images, JSON, logits file.
expect 0 '"top1"' -- "$X" eval --model "$MODEL" --data "$DATA" --images 500 --json --dump-logits "$tmp/logits.npy"
cp "$tmp/out" "$tmp/eval.json"
expect 0 'quantized w8/a8 +top-1' -- "$X" eval --model "$MODEL" --data "$DATA" --images 200 --threads 1
if $PY -c 'import numpy' 2>/dev/null; then
  # An input shape the model cannot take: 32x32 images for a 28x28 network.
  $PY -c "import numpy as np; np.save('$tmp/x_big.npy', np.zeros((4, 32, 32), np.uint8))"
  expect 1 "$tmp/x_big.npy: the samples are 32x32 but the model .* takes 1x28x28" -- \
    "$X" eval --model "$MODEL" --data "$tmp/x_big.npy"
  # The dumped logits: 500 x 10 float32, the first 64 equal to PyTorch's within 1e-4.
  if $PY - "$tmp/logits.npy" "${MODEL%.onnx}.json" "$tmp/eval.json" <<'EOF'; then
import json, sys
import numpy as np
logits = np.load(sys.argv[1])
card = json.load(open(sys.argv[2]))
out = json.load(open(sys.argv[3]))
assert logits.shape == (500, 10) and logits.dtype == np.float32, logits.shape
diff = np.abs(logits[:64] - np.array(card["logits"], dtype=np.float64)).max()
assert diff <= 1e-4, diff
assert out["images"] == 500 and out["classes"] == 10 and out["calibration"]["training_split"]
assert abs(out["float"]["accuracy"]["top1"] - out["quantized"]["accuracy"]["top1"]) <= 0.02
print(f"ok: dumped logits match PyTorch's within {diff:.2e}")
EOF
    :
  else
    echo "FAIL: the dumped logits or the JSON report"; fail=1
  fi
else
  echo "FAIL: numpy (python3-numpy) is missing for the .npy checks: run scripts/setup.sh"; fail=1
fi
exit $fail
