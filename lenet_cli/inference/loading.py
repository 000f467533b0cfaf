"""Which model to predict with: the bundled weights, the newest run, a checkpoint or an export."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import InputNotFound, LenetError, UsageError
from ..export import format_for_path
from ..files import note_input
from .export_backend import ExportedPredictor
from .predictor import Predictor
from .torch_backend import TorchPredictor

__all__ = ["BUNDLED_ONNX", "BUNDLED_WEIGHTS", "load_predictor", "newest_run_checkpoint", "require_lenet_checkpoint",
           "resolve_checkpoint", "resolve_for_prediction"]

BUNDLED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "lenet5-mnist.pt"
# The same weights exported to ONNX and verified against them (bench/make_bundled_weights.py makes both):
# predicting with them needs onnxruntime and NumPy, not torch, so `lenet predict` starts in a fraction of the time.
BUNDLED_ONNX = BUNDLED_WEIGHTS.with_suffix(".onnx")


def resolve_checkpoint(choice: str | None, project: str | Path = "runs/train") -> Path:
    """What every ``-c/--checkpoint`` means: None, the bundled weights; ``last``, the newest run under ``project``
    (its best.pt, or its last.pt when it has no best: trained with --val-split 0, or stopped in its first epoch);
    anything else, a path to a checkpoint or an export."""
    if choice is None:
        if not BUNDLED_WEIGHTS.is_file():
            raise LenetError(f"Bundled weights {BUNDLED_WEIGHTS} are missing; reinstall lenet-cli or pass --checkpoint")
        return BUNDLED_WEIGHTS
    if choice == "last":
        return newest_run_checkpoint(Path(project))
    path = Path(choice)
    if not path.is_file():
        hint = " (a directory: give the .pt inside it)" if path.is_dir() else ""
        raise InputNotFound(f"Checkpoint {path} not found{hint}")
    return path


def newest_run_checkpoint(project: Path) -> Path:
    """best.pt, else last.pt, of the run under ``project`` whose checkpoint was written last."""
    found = [run / "best.pt" if (run / "best.pt").is_file() else run / "last.pt"
             for run in (project.iterdir() if project.is_dir() else ())
             if (run / "best.pt").is_file() or (run / "last.pt").is_file()]
    if not found:
        raise InputNotFound(f"No run with a checkpoint under {project}; train one with `lenet train` first "
                            f"(or point --project at your runs)")
    return max(found, key=lambda p: p.stat().st_mtime)


def require_lenet_checkpoint(path: Path, why: str) -> Path:
    """``path`` if it is a lenet checkpoint (.pt); an export is a usage error saying ``why`` a .pt is needed."""
    export_format = format_for_path(path)
    if export_format is not None:
        raise UsageError(f"{path} is an export ({export_format.name}); {why} needs the lenet checkpoint (.pt) it was "
                         f"exported from")
    return path


def resolve_for_prediction(choice: str | None, project: str | Path = "runs/train", device: str = "auto") -> Path:
    """As ``resolve_checkpoint``, but the bundled weights are the ONNX copy wherever onnxruntime is installed
    (and no accelerator was asked for)."""
    if (choice is None and device in ("auto", "cpu") and BUNDLED_ONNX.is_file()
            and importlib.util.find_spec("onnxruntime") is not None):
        return BUNDLED_ONNX
    return resolve_checkpoint(choice, project)


def load_predictor(path: Path, preprocess: str | None = None, device: str = "auto") -> Predictor:
    """A file named like an export runs on its format's runtime (ONNX: no torch import); anything else is read
    as a lenet checkpoint, run by PyTorch on ``device``."""
    export_format = format_for_path(path)
    if export_format is None:
        return TorchPredictor(path, preprocess, device)
    note_input(path)
    export_format.check_device(path, device)
    return ExportedPredictor(path, export_format, preprocess)
