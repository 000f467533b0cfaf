"""Make the package's pretrained weights from a `lenet train` checkpoint.

Keeps what prediction and evaluation need (model, arguments, classes, normalisation,
config, seed, metrics and history) and drops the resume state (optimizer, scheduler,
RNG, position), which shrinks the file about threefold. Then exports it to ONNX beside
it (``lenet5-mnist.onnx``, verified against it as `lenet export` verifies), which is what
`lenet predict` runs by default, without torch. Prints both SHA-256 to record in docs/models.md.

    python bench/make_bundled_weights.py runs/train/lenet5-mnist/best.pt lenet_cli/weights/lenet5-mnist.pt
"""

from __future__ import annotations

import argparse
import hashlib
import io
from pathlib import Path

import torch

from lenet_cli.checkpoint import load_checkpoint
from lenet_cli.files import atomic_write_bytes
from lenet_cli.export.exporter import export_checkpoint

TRAINING_STATE = ("optimizer", "scheduler", "rng", "position")
MACHINE_SPECIFIC = ("project", "name", "data_dir", "threads", "device")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    checkpoint = load_checkpoint(args.source)
    slim = {k: v for k, v in checkpoint.items() if k not in TRAINING_STATE}
    # Paths and thread counts of the machine that trained it say nothing about the weights.
    slim["config"] = {k: v for k, v in checkpoint["config"].items() if k not in MACHINE_SPECIFIC}
    buffer = io.BytesIO()
    torch.save(slim, buffer)
    args.dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.dest, buffer.getvalue())
    print(f"{args.dest}: {len(buffer.getvalue()):,} bytes, sha256 {hashlib.sha256(buffer.getvalue()).hexdigest()}")
    print(f"test accuracy at epoch {checkpoint['metrics']['epoch']}: {checkpoint['metrics']['test_acc']:.4f}")
    onnx = export_checkpoint(args.dest, "onnx", args.dest.with_suffix(".onnx"))
    check = onnx.verification
    print(f"{onnx.path}: {onnx.bytes:,} bytes, sha256 {onnx.sha256}; against the checkpoint on {check.images} "
          f"{check.source} images: max |difference| {check.max_abs_diff:.2g}, top-1 identical on {check.top1_agree}")


if __name__ == "__main__":
    main()
