# Sourced by scripts/device-check.sh and scripts/device-profile.sh on a lent GPU machine:
# unpacks the bundle of scripts/device-bundle.sh into $B, points the loader at its
# libraries and the machine's CUDA, empties the log folder $LOG (set by the caller), and
# defines LENET_STUDY, the device check's LeNet-5 study (64 chips x 1,000 images on the
# GPU): "${LENET_STUDY[@]}" --out DIR runs it.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
B=/tmp/xbarmc-bundle
rm -rf "$LOG"
mkdir -p "$LOG" "$B"
tar -C "$B" -xzf .device-bundle/xbarmc-device.tar.gz || { echo "no bundle: run scripts/device-bundle.sh first"; exit 1; }
export LD_LIBRARY_PATH="$B/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export XBARMC_SOURCE_DIR="$PWD" XBARMC_DATA_DIR="$B/data"
# (STUDY_IMAGES and STUDY_TRIALS, when set, change its size.)
LENET_STUDY=("$B/bin/xbarmc" run --model experiments/models/lenet5.onnx --data "$B/data" --images "${STUDY_IMAGES:-1000}"
  --trials "${STUDY_TRIALS:-64}" --backend cuda --progress off)
