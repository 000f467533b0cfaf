"""Exporting a checkpoint to TorchScript, ONNX or safetensors, verified before it is kept.

Every export is written to a temp file beside its target, loaded back the way a
consumer would load it, run on real test images and compared with the PyTorch
model; only a file that passes is renamed into place.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .. import __version__
from ..data.preprocess import Normalization, to_model_input
from ..errors import LenetError, UsageError
from .checkpoint import atomic_write_bytes, build_model, load_checkpoint, sha256_file, temp_file_beside

__all__ = ["FORMATS", "DEFAULT_OPSET", "ExportResult", "Verification", "export_checkpoint", "export_metadata"]

FORMATS = ("torchscript", "onnx", "safetensors")
SUFFIXES = {"torchscript": ".torchscript.pt", "onnx": ".onnx", "safetensors": ".safetensors"}
DEFAULT_OPSET = 18  # the lowest opset torch's ONNX exporter writes natively
MAX_ABS_DIFF = 1e-4
# float32 sums carry relative error: RBF penalties (up to ~150) differ by ~1e-4 between
# runtimes, so large outputs get 2 parts per million of their magnitude instead.
RELATIVE_DIFF = 2e-6
ONNX_INSTALL = "pip install 'lenet-cli[onnx]'"


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


def _compare(reference: torch.Tensor, outputs: np.ndarray, source: str) -> Verification:
    expected = reference.numpy()
    tolerance = max(MAX_ABS_DIFF, RELATIVE_DIFF * float(np.abs(expected).max()))
    if outputs.shape != expected.shape:
        return Verification(len(expected), source, float("inf"), 0, tolerance)
    return Verification(len(expected), source, float(np.abs(outputs - expected).max()),
                        int((outputs.argmax(1) == expected.argmax(1)).sum()), tolerance)


def _torchscript(model: torch.nn.Module, x: torch.Tensor, tmp: Path, meta: str) -> Callable[[torch.Tensor], np.ndarray]:
    with warnings.catch_warnings():  # torch marks TorchScript deprecated; it still loads everywhere
        warnings.simplefilter("ignore", FutureWarning)
        traced = torch.jit.trace(model, x[:2])
        torch.jit.save(traced, str(tmp), _extra_files={"lenet.json": meta})
        loaded = torch.jit.load(str(tmp), map_location="cpu")
    return lambda batch: loaded(batch).detach().numpy()


def _onnx(model: torch.nn.Module, x: torch.Tensor, tmp: Path, metadata: dict[str, Any], opset: int,
          dynamic_batch: bool) -> Callable[[torch.Tensor], np.ndarray]:
    try:
        import onnx
        import onnxruntime
        import onnxscript  # noqa: F401  (torch's exporter needs it)
    except ImportError as exc:
        raise LenetError(f"ONNX export needs the onnx extra ({exc.name} is missing): {ONNX_INSTALL}") from None
    if not DEFAULT_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise UsageError(f"--opset must be between {DEFAULT_OPSET} and {onnx.defs.onnx_opset_version()}, not {opset}")
    example = x[:2] if dynamic_batch else x[:1]
    shapes = ({0: torch.export.Dim("batch", min=1, max=1 << 16)},) if dynamic_batch else None
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model, (example,), dynamo=True, opset_version=opset, input_names=["input"],
                                    output_names=["scores"], dynamic_shapes=shapes, verbose=False)
    proto = program.model_proto
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(proto, str(tmp))
    session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])

    def run(batch: torch.Tensor) -> np.ndarray:
        array = batch.numpy()
        if dynamic_batch:
            return session.run(["scores"], {"input": array})[0]
        return np.concatenate([session.run(["scores"], {"input": array[i : i + 1]})[0] for i in range(len(array))])

    return run


def _safetensors(model: torch.nn.Module, checkpoint: dict[str, Any], tmp: Path, meta: str) -> Callable[[torch.Tensor], np.ndarray]:
    from safetensors.torch import load_file, save_file

    from ..models import get_model

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata={"lenet": meta})
    fresh = get_model(checkpoint["model"], **checkpoint["model_args"])
    fresh.load_state_dict(load_file(str(tmp)), strict=True)
    fresh.eval()

    def run(batch: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return fresh(batch).numpy()

    return run


def default_output(checkpoint: Path, fmt: str, bundled: bool = False) -> Path:
    """Beside the checkpoint (``best.pt`` -> ``best.onnx``); in the current directory for the bundled weights."""
    stem = checkpoint.name.removesuffix(".pt")
    return (Path.cwd() if bundled else checkpoint.parent) / f"{stem}{SUFFIXES[fmt]}"


def export_checkpoint(checkpoint_path: Path, fmt: str, out: Path, *, opset: int = DEFAULT_OPSET,
                      dynamic_batch: bool = True, verify_images: int = 256) -> ExportResult:
    """Export, verify against the PyTorch model, then move into place; nothing is left behind on failure."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    checkpoint = load_checkpoint(checkpoint_path)
    _check_out_path(out)
    model = build_model(checkpoint).eval()
    norm = Normalization.from_dict(checkpoint["normalization"])
    metadata = export_metadata(checkpoint, checkpoint_path, model)
    x, source = _verification_images(checkpoint, norm, max(2, verify_images))
    with torch.no_grad():
        reference = model(x)
    meta_json = json.dumps(metadata)
    fd, name = temp_file_beside(out)
    os.close(fd)
    tmp, sidecar = Path(name), None
    try:
        if fmt == "torchscript":
            run = _torchscript(model, x, tmp, meta_json)
        elif fmt == "onnx":
            run = _onnx(model, x, tmp, metadata, opset, dynamic_batch)
        else:
            run = _safetensors(model, checkpoint, tmp, meta_json)
        verification = _compare(reference, run(x), source)
        if not verification.passed:
            raise LenetError(
                f"Export to {fmt} failed verification on {verification.images} images: max |difference| "
                f"{verification.max_abs_diff:.3g} (limit {verification.tolerance:.3g}), top-1 agreed on "
                f"{verification.top1_agree}; nothing was written")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, out)
        if fmt == "safetensors":  # the same metadata as a file for tools that cannot read the header
            sidecar = out.with_suffix(".json")
            atomic_write_bytes(sidecar, (json.dumps({**metadata, "weights": out.name}, indent=2) + "\n").encode())
    except OSError as exc:
        raise LenetError(f"Cannot write {out}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    options = {"opset": opset, "dynamic_batch": dynamic_batch} if fmt == "onnx" else {}
    return ExportResult(fmt, out, out.stat().st_size, sha256_file(out), verification, metadata, sidecar, options)
