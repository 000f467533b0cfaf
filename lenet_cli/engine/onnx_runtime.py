"""Running a lenet ONNX export with onnxruntime and NumPy only: no torch import, fast start."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data.preprocess import to_model_input_numpy
from ..errors import DataFormatError, InputNotFound, LenetError
from .predict import Predictor

__all__ = ["OnnxPredictor", "read_onnx_metadata"]


def _session(path: Path):
    try:
        import onnxruntime
    except ImportError:
        raise LenetError("Running an .onnx model needs onnxruntime: pip install 'lenet-cli[onnx]'") from None
    if not path.is_file():
        raise InputNotFound(f"Model {path} not found")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its warnings would land in the user's terminal
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types for bad files
        raise DataFormatError(f"{path}: not a readable ONNX model ({str(exc).splitlines()[0][:160]})") from None


def read_onnx_metadata(session, path: Path) -> dict:
    """The metadata ``lenet export`` stored in the model's metadata_props."""
    props = session.get_modelmeta().custom_metadata_map
    if props.get("format") != json.dumps("lenet-export"):
        raise LenetError(f"{path}: an ONNX model, but not one written by `lenet export` (no lenet metadata)")
    return {key: json.loads(value) for key, value in props.items()}


class OnnxPredictor(Predictor):
    """An ONNX export, run by onnxruntime."""

    def __init__(self, path: Path, preprocess: str | None = None) -> None:
        self.session = _session(Path(path))
        self.metadata = read_onnx_metadata(self.session, Path(path))
        super().__init__(Path(path), self.metadata, preprocess)
        batch = self.session.get_inputs()[0].shape[0]
        self.static_batch = isinstance(batch, int)

    def scores(self, images: np.ndarray) -> np.ndarray:
        x = to_model_input_numpy(images, self.norm)
        if self.static_batch:  # exported with --static-batch: one image per run
            return np.concatenate([self.session.run(["scores"], {"input": x[i : i + 1]})[0] for i in range(len(x))])
        return self.session.run(["scores"], {"input": x})[0]
