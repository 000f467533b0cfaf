"""Exporting a checkpoint to any registered format, verified before it is kept.

Every export is written to a temp file beside its target, loaded back the way a
consumer would load it, run on real test images and compared with the PyTorch
model; only a file that passes is renamed into place.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..checkpoint import build_model, load_checkpoint
from ..files import atomic_write_bytes, remove_stale_temp_files, sha256_file, temp_beside
from ..data.preprocess import Normalization, to_model_input
from ..errors import LenetError, UsageError, from_os_error
from .registry import get_format

__all__ = ["ExportResult", "Verification", "default_output", "export_checkpoint", "export_metadata"]

MAX_ABS_DIFF = 1e-4
# float32 sums carry relative error: RBF penalties (up to ~150) differ by ~1e-4 between
# runtimes, so large outputs get 2 parts per million of their magnitude instead.
RELATIVE_DIFF = 2e-6


@dataclass
class Verification:
    images: int
    source: str  # which images, e.g. "mnist test split"
    max_abs_diff: float
    top1_agree: int  # images whose top-1 class matches the PyTorch model's
    tolerance: float = MAX_ABS_DIFF

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.tolerance and self.top1_agree == self.images

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


@dataclass
class ExportResult:
    format: str
    path: Path
    bytes: int
    sha256: str
    verification: Verification
    metadata: dict[str, Any]
    sidecar: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "path": str(self.path), "bytes": self.bytes, "sha256": self.sha256,
                "sidecar": str(self.sidecar) if self.sidecar else None, **self.options,
                "verification": self.verification.to_dict(), "metadata": self.metadata}


def export_metadata(checkpoint: dict[str, Any], source: Path, model: torch.nn.Module) -> dict[str, Any]:
    """What a consumer needs to feed the model and read its output, without lenet."""
    norm = checkpoint["normalization"]
    channels, side = int(norm["channels"]), int(norm["input_size"])
    return {
        "format": "lenet-export",
        "version": 1,
        "model": checkpoint["model"],
        "model_args": checkpoint["model_args"],
        "classes": list(checkpoint["classes"]),
        "dataset": checkpoint.get("dataset"),
        "input_name": "input",
        "input_shape": [channels, side, side],
        "image_size": list(checkpoint.get("image_size") or [side, side]),
        "normalization": norm,
        "preprocessing": (
            f"uint8 image of image_size; shrink by content_scale ({norm.get('content_scale', 1.0)}); "
            f"pad centred to {side}x{side} with 0 (larger images: resize); x / 255; (x - mean) / std. "
            + ("Photos: MNIST-style (light ink on dark, digit fitted in 20x20, centred by mass) first, "
               "as `lenet predict --preprocess mnist` does." if channels == 1 else "")
        ),
        "output_name": "scores",
        "output": getattr(model, "output_description", "logits (softmax gives probabilities)"),
        "source_checkpoint": source.name,
        "source_sha256": sha256_file(source),
        "test_accuracy": (checkpoint.get("metrics") or {}).get("test_acc"),
        "lenet_version": __version__,
        "torch_version": torch.__version__,
    }


def _verification_images(checkpoint: dict[str, Any], norm: Normalization, count: int) -> tuple[torch.Tensor, str]:
    """Real test images: the checkpoint's own test split, else the bundled MNIST test digits."""
    from ..data import get_dataset

    name = checkpoint.get("dataset") or "mnist"
    try:
        data = get_dataset(name, "test", offline=True)
        images, source = data.images[:count], f"{name} test split"
    except LenetError:
        data = get_dataset("mnist", "test", offline=True)
        images = data.images[:count].expand(-1, norm.channels, -1, -1).contiguous()
        source = f"bundled MNIST test split ({name} is not available here)"
    return to_model_input(images, norm), source


def _check_out_path(path: Path) -> None:
    if not path.parent.is_dir():
        raise LenetError(f"Cannot write {path}: directory {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise LenetError(f"Cannot write {path}: directory {path.parent} is not writable")
    if path.is_dir():
        raise LenetError(f"Cannot write {path}: it is a directory")


def _write_synced(path: Path, payload: bytes) -> None:
    """``payload`` into ``path``, flushed to the disk before anything reads it back."""
    with open(path, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (also through symlinks and hard links)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def _refuse_overwrites(source: Path, out: Path, sidecar: Path | None, suffix: str) -> None:
    """No export may replace its own checkpoint, or a file it did not write, with the sidecar."""
    if _same_file(out, source):
        raise UsageError(f"--out {out} is the checkpoint being exported; choose another file")
    if sidecar is None:
        return
    if _same_file(sidecar, out) or _same_file(sidecar, source):
        raise UsageError(f"--out {out}: its metadata sidecar would be {sidecar}, the same file; "
                         f"choose a name ending in {suffix}")
    if sidecar.exists() and not _is_export_sidecar(sidecar):
        raise UsageError(f"{sidecar} exists and was not written by `lenet export`; it would be overwritten by the "
                         "metadata sidecar, so nothing was written (choose another --out)")


def _is_export_sidecar(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == "lenet-export" and "weights" in data


def _compare(reference: torch.Tensor, outputs: np.ndarray, source: str) -> Verification:
    expected = reference.numpy()
    tolerance = max(MAX_ABS_DIFF, RELATIVE_DIFF * float(np.abs(expected).max()))
    if outputs.shape != expected.shape:
        return Verification(len(expected), source, float("inf"), 0, tolerance)
    return Verification(len(expected), source, float(np.abs(outputs - expected).max()),
                        int((outputs.argmax(1) == expected.argmax(1)).sum()), tolerance)


def default_output(checkpoint: Path, fmt: str, bundled: bool = False) -> Path:
    """Beside the checkpoint (``best.pt`` -> ``best.onnx``); in the current directory for the bundled weights."""
    stem = checkpoint.name.removesuffix(".pt")
    return (Path.cwd() if bundled else checkpoint.parent) / f"{stem}{get_format(fmt).suffix}"


def export_checkpoint(checkpoint_path: Path, fmt: str, out: Path, *, options: dict[str, Any] | None = None,
                      verify_images: int = 256) -> ExportResult:
    """Export, verify against the PyTorch model, then move into place; nothing is left behind on failure.

    ``options`` are the format's own (``ExportFormat.options``, e.g. ONNX's opset); unset ones take their defaults.
    """
    export_format = get_format(fmt)
    unknown = sorted(set(options or {}) - set(export_format.options))
    if unknown:
        raise UsageError(f"{', '.join(unknown)} do not apply to --format {fmt}")
    options = {**export_format.options, **(options or {})}
    checkpoint = load_checkpoint(checkpoint_path)
    _check_out_path(out)
    model = build_model(checkpoint, checkpoint_path).eval()
    metadata = export_metadata(checkpoint, checkpoint_path, model)
    extra = export_format.sidecar(out, metadata)
    _refuse_overwrites(checkpoint_path, out, extra[0] if extra else None, export_format.suffix)
    remove_stale_temp_files(out.parent, {out.name, *([extra[0].name] if extra else [])})
    x, source = _verification_images(checkpoint, Normalization.from_dict(checkpoint["normalization"]),
                                     max(2, verify_images))
    with torch.no_grad():
        reference = model(x)
    try:
        with temp_beside(out) as tmp:
            _write_synced(tmp, export_format.to_bytes(model, x, metadata, **options))
            verification = _compare(reference, export_format.load(tmp).run(x.numpy()), source)
            if not verification.passed:
                raise LenetError(
                    f"Export to {fmt} failed verification on {verification.images} images: max |difference| "
                    f"{verification.max_abs_diff:.3g} (limit {verification.tolerance:.3g}), top-1 agreed on "
                    f"{verification.top1_agree}; nothing was written")
            os.replace(tmp, out)
        sidecar = None
        if extra is not None:
            sidecar = extra[0]
            atomic_write_bytes(*extra)
    except OSError as exc:
        raise from_os_error(exc, f"Cannot write {out} (nothing was written)") from None
    return ExportResult(fmt, out, out.stat().st_size, sha256_file(out), verification, metadata, sidecar, options)
