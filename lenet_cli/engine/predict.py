"""Predicting classes of image files with a checkpoint, an ONNX export, or the bundled weights.

This module does not import torch: an ONNX model runs on onnxruntime and NumPy
alone, so ``lenet predict --checkpoint model.onnx`` starts without torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.images import PREPROCESS_MODES, open_image, prepare_mnist, prepare_none, prepare_resize
from ..data.preprocess import Normalization
from ..errors import InputNotFound, LenetError, UsageError

__all__ = ["BUNDLED_WEIGHTS", "Prediction", "Predictor", "TorchPredictor", "load_predictor", "resolve_checkpoint"]

BUNDLED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "lenet5-mnist.pt"


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


@dataclass
class Prediction:
    path: str
    label: int
    class_name: str
    probability: float
    topk: list[tuple[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "label": self.label, "class_name": self.class_name,
                "probability": self.probability, "topk": [[name, p] for name, p in self.topk]}


class Predictor:
    """A model plus the preprocessing that makes raw images look like its training data.

    Subclasses supply ``scores``; ``metadata`` is a checkpoint or an export's metadata
    (classes, normalization, image_size, model).
    """

    def __init__(self, source: Path, metadata: dict[str, Any], preprocess: str | None = None) -> None:
        self.checkpoint = source
        self.model_name: str = metadata["model"]
        self.classes: list[str] = list(metadata["classes"])
        self.norm = Normalization.from_dict(metadata["normalization"])
        native = metadata.get("image_size") or [self.norm.input_size, self.norm.input_size]
        self.image_size = (int(native[0]), int(native[1]))
        self.channels = self.norm.channels
        mnist_like = self.channels == 1
        self.mode = preprocess or ("mnist" if mnist_like else "resize")
        if self.mode not in PREPROCESS_MODES:
            raise UsageError(f"--preprocess must be one of {', '.join(PREPROCESS_MODES)}, not {self.mode!r}")
        if self.mode == "mnist" and not mnist_like:
            raise UsageError(f"--preprocess mnist needs a 1-channel model; this one takes {self.channels} channels")

    def prepare(self, path: Path) -> np.ndarray:
        """The uint8 C x H x W image the model will see (before normalisation)."""
        img = open_image(path)
        if self.mode == "mnist":
            side = self.image_size[0]
            return prepare_mnist(img, out_size=side, box=max(1, round(side * 20 / 28)))[None]
        if self.mode == "resize":
            return prepare_resize(img, self.image_size, self.channels)
        return prepare_none(img, self.image_size, self.channels, path)

    def scores(self, images: np.ndarray) -> np.ndarray:
        """The model's outputs (N x classes) for prepared uint8 N x C x H x W images."""
        raise NotImplementedError

    def predict(self, images: np.ndarray, paths: list[str], topk: int = 3) -> list[Prediction]:
        """Predictions for a batch of prepared images (N x C x H x W uint8)."""
        scores = self.scores(images).astype(np.float64)
        probabilities = np.exp(scores - scores.max(1, keepdims=True))
        probabilities /= probabilities.sum(1, keepdims=True)
        k = max(1, min(topk, len(self.classes)))
        order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        results = []
        for path, row, idx in zip(paths, probabilities, order):
            top = [(self.classes[i], float(row[i])) for i in idx]
            results.append(Prediction(path, int(idx[0]), top[0][0], top[0][1], top))
        return results


class TorchPredictor(Predictor):
    """A lenet checkpoint, run by PyTorch."""

    def __init__(self, checkpoint: Path, preprocess: str | None = None) -> None:
        from .checkpoint import build_model, load_checkpoint

        data = load_checkpoint(checkpoint)
        super().__init__(checkpoint, data, preprocess)
        self.model = build_model(data).eval()

    def scores(self, images: np.ndarray) -> np.ndarray:
        import torch

        from ..data.preprocess import to_model_input

        with torch.no_grad():
            return self.model(to_model_input(torch.from_numpy(images), self.norm)).numpy()


def load_predictor(path: Path, preprocess: str | None = None) -> Predictor:
    """ONNX files run on onnxruntime (no torch import); anything else is read as a lenet checkpoint."""
    if Path(path).suffix.lower() == ".onnx":
        from .onnx_runtime import OnnxPredictor

        return OnnxPredictor(path, preprocess)
    return TorchPredictor(path, preprocess)
