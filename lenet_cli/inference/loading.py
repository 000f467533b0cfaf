"""Which model to predict with: the bundled weights, the newest run, a checkpoint or an export."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import InputNotFound, LenetError
from ..export import format_for_path
from .export_backend import ExportedPredictor
from .predictor import Predictor
from .torch_backend import TorchPredictor

__all__ = ["BUNDLED_ONNX", "BUNDLED_WEIGHTS", "load_predictor", "resolve_checkpoint", "resolve_for_prediction"]

BUNDLED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "lenet5-mnist.pt"
# The same weights exported to ONNX and verified against them (bench/make_bundled_weights.py makes both):
# predicting with them needs onnxruntime and NumPy, not torch, so `lenet predict` starts in a fraction of the time.
BUNDLED_ONNX = BUNDLED_WEIGHTS.with_suffix(".onnx")


def resolve_checkpoint(choice: str | None, project: str | Path = "runs/train") -> Path:
    """None: the bundled weights; ``last``: the newest run's best.pt; else a path."""
    if choice is None:
        if not BUNDLED_WEIGHTS.is_file():
            raise LenetError(f"Bundled weights {BUNDLED_WEIGHTS} are missing; reinstall lenet-cli or pass --checkpoint")
        return BUNDLED_WEIGHTS
    if choice == "last":
        candidates = sorted(Path(project).glob("*/best.pt"), key=lambda p: p.stat().st_mtime)
        if not candidates:
            raise InputNotFound(f"No run with a best.pt under {project}; train one with `lenet train` first")
        return candidates[-1]
    path = Path(choice)
    if not path.is_file():
        raise InputNotFound(f"Checkpoint {path} not found")
    return path


def resolve_for_prediction(choice: str | None, project: str | Path = "runs/train") -> Path:
    """As ``resolve_checkpoint``, but the bundled weights are the ONNX copy wherever onnxruntime is installed."""
    if choice is None and BUNDLED_ONNX.is_file() and importlib.util.find_spec("onnxruntime") is not None:
        return BUNDLED_ONNX
    return resolve_checkpoint(choice, project)


def load_predictor(path: Path, preprocess: str | None = None) -> Predictor:
    """A file named like an export runs on its format's runtime (ONNX: no torch import); anything else is read
    as a lenet checkpoint."""
    export_format = format_for_path(path)
    if export_format is not None:
        return ExportedPredictor(path, export_format, preprocess)
    return TorchPredictor(path, preprocess)
