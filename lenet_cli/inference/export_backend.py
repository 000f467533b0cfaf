"""Running a file written by ``lenet export``, read back by its format (ONNX: onnxruntime and NumPy only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.preprocess import to_model_input_numpy
from ..export.registry import ExportFormat
from .predictor import Predictor

__all__ = ["ExportedPredictor"]


class ExportedPredictor(Predictor):
    """An export, run the way its format's consumers run it; its metadata says how to prepare images."""

    def __init__(self, path: Path, export_format: ExportFormat, preprocess: str | None = None) -> None:
        self.format = export_format.name
        self.loaded = export_format.load(Path(path))
        self.metadata = self.loaded.metadata
        super().__init__(Path(path), self.metadata, preprocess)

    def scores(self, images: np.ndarray) -> np.ndarray:
        return self.loaded.run(to_model_input_numpy(images, self.norm))
