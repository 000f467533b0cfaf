"""Predicting classes of image files with a trained checkpoint (or the bundled weights)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.images import PREPROCESS_MODES, open_image, prepare_mnist, prepare_none, prepare_resize
from ..data.preprocess import Normalization, to_model_input
from ..errors import InputNotFound, LenetError, UsageError
from .checkpoint import build_model, load_checkpoint

__all__ = ["BUNDLED_WEIGHTS", "Prediction", "Predictor", "resolve_checkpoint"]

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
    """A checkpoint's model plus the preprocessing that makes raw images look like its training data."""

    def __init__(self, checkpoint: Path, preprocess: str | None = None) -> None:
        data = load_checkpoint(checkpoint)
        self.checkpoint = checkpoint
        self.model_name: str = data["model"]
        self.classes: list[str] = list(data["classes"])
        self.norm = Normalization.from_dict(data["normalization"])
        native = data.get("image_size") or [self.norm.input_size, self.norm.input_size]
        self.image_size = (int(native[0]), int(native[1]))
        self.channels = self.norm.channels
        mnist_like = self.channels == 1
        self.mode = preprocess or ("mnist" if mnist_like else "resize")
        if self.mode not in PREPROCESS_MODES:
            raise UsageError(f"--preprocess must be one of {', '.join(PREPROCESS_MODES)}, not {self.mode!r}")
        if self.mode == "mnist" and not mnist_like:
            raise UsageError(f"--preprocess mnist needs a 1-channel model; this one takes {self.channels} channels")
        self.model = build_model(data).eval()

    def prepare(self, path: Path) -> np.ndarray:
        """The uint8 C x H x W image the model will see (before normalisation)."""
        img = open_image(path)
        if self.mode == "mnist":
            side = self.image_size[0]
            return prepare_mnist(img, out_size=side, box=max(1, round(side * 20 / 28)))[None]
        if self.mode == "resize":
            return prepare_resize(img, self.image_size, self.channels)
        return prepare_none(img, self.image_size, self.channels, path)

    @torch.no_grad()
    def predict(self, images: np.ndarray, paths: list[str], topk: int = 3) -> list[Prediction]:
        """Predictions for a batch of prepared images (N x C x H x W uint8)."""
        x = to_model_input(torch.from_numpy(images), self.norm)
        probabilities = self.model(x).softmax(1)
        k = max(1, min(topk, len(self.classes)))
        top_p, top_i = probabilities.topk(k, dim=1)
        results = []
        for path, ps, idx in zip(paths, top_p.tolist(), top_i.tolist()):
            results.append(Prediction(path, idx[0], self.classes[idx[0]], ps[0],
                                      [(self.classes[i], p) for i, p in zip(idx, ps)]))
        return results
