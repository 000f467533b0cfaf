"""Running a lenet checkpoint (``.pt``) with PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .predictor import Predictor

__all__ = ["TorchPredictor"]


class TorchPredictor(Predictor):
    """A lenet checkpoint, run by PyTorch; ``model`` is there to look inside (``lenet inspect``)."""

    def __init__(self, checkpoint: Path, preprocess: str | None = None, device: str = "auto") -> None:
        from ..checkpoint import build_model, load_checkpoint
        from ..device import resolve_device

        data = load_checkpoint(checkpoint)
        super().__init__(checkpoint, data, preprocess)
        self.device = resolve_device(device)
        self.model = build_model(data, checkpoint).eval().to(self.device)

    def scores(self, images: np.ndarray) -> np.ndarray:
        import torch

        from ..data.preprocess import to_model_input

        with torch.no_grad():
            return self.model(to_model_input(torch.from_numpy(images), self.norm).to(self.device)).cpu().numpy()
