#!/usr/bin/env bash
# Train LeNet-5, fail the pipeline below an accuracy gate, export a verified ONNX model
# and check it on a sample image. Every step's result is a JSON file in $OUT_DIR,
# ready to be kept as a CI artifact.
#
# Needs `pip install 'lenet-cli[onnx]'`; reads JSON with jq when it is installed,
# with Python otherwise. Settings (environment variables):
#   DATASET=mnist  EPOCHS=3  GATE=0.99  OUT_DIR=ci-artifacts
#   SAMPLE=<image> EXPECT=<label>   (default: the "3" in docs/img/three.png)
# Exit codes are lenet's own (see docs/exit-codes.md): 3 means the gate failed.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
dataset="${DATASET:-mnist}"
epochs="${EPOCHS:-3}"
gate="${GATE:-0.99}"
out="${OUT_DIR:-ci-artifacts}"
sample="${SAMPLE:-$(cd "$here/../.." && pwd)/docs/img/three.png}"
expect="${EXPECT:-3}"
mkdir -p "$out"

# json FILE FIELD: print one top-level field (dots for nested: verification.passed).
json() {
  if command -v jq >/dev/null 2>&1; then
    jq -r ".$2" "$1"
  else
    python3 -c 'import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    value = value[key]
print(str(value).lower() if isinstance(value, bool) else value)' "$1" "$2"
  fi
}

# 1. Train. stdout is exactly one JSON document (progress goes to stderr), written even
#    when the gate fails; --fail-under then exits 3, which ends this script (set -e).
echo "== train $dataset for $epochs epochs, gate $gate" >&2
status=0
lenet train --dataset "$dataset" --epochs "$epochs" --seed 0 \
  --project "$out/runs" --name train --json --fail-under "$gate" >"$out/train.json" || status=$?
if [ "$status" -ne 0 ]; then
  [ -s "$out/train.json" ] && echo "test accuracy $(json "$out/train.json" test_accuracy) is below $gate" >&2
  exit "$status"
fi
accuracy="$(json "$out/train.json" test_accuracy)"
checkpoint="$(json "$out/train.json" best_checkpoint)"
echo "test accuracy $accuracy (gate $gate); best checkpoint $checkpoint" >&2

# 2. Export to ONNX. lenet keeps the file only if it reproduces the PyTorch model on
#    256 real test images (exit 1 otherwise), so a present file is a verified one.
echo "== export" >&2
lenet export --format onnx --checkpoint "$checkpoint" --out "$out/model.onnx" --json >"$out/export.json"
echo "exported $(json "$out/export.json" path): max |diff| $(json "$out/export.json" verification.max_abs_diff)" >&2

# 3. Predict a sample with the exported model (onnxruntime; torch is not imported).
echo "== predict $sample" >&2
lenet predict --checkpoint "$out/model.onnx" "$sample" --json >"$out/predict.jsonl"
label="$(json "$out/predict.jsonl" label)"
if [ "$label" != "$expect" ]; then
  echo "error: the exported model read $sample as $label, expected $expect" >&2
  exit 1
fi
echo "ok: $sample -> $label (probability $(json "$out/predict.jsonl" probability))" >&2
