"""What the server computes for each request, with no web framework in sight.

A :class:`Service` holds the model a server answers with. Predictions run on the
loaded predictor (the bundled ONNX copy by default: no torch import). The page's
feature maps need the layers' activations, which only a PyTorch copy gives; it is
loaded on the first request that asks for them, so a server used only for
``/predict`` never imports torch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFormatError
from ..inference.predictor import Predictor

__all__ = ["Upload", "Service", "BadRequest", "MAP_LAYERS", "load_service"]

MAP_LAYERS = 2  # feature maps the page shows: LeNet-5's C1 and C3
_PAPER_CONV_NAMES = ("C1", "C3", "C5")  # LeNet-5's convolutional layers, in order


class BadRequest(DataFormatError):
    """A request that carries no image to read: empty, or a broken form (HTTP 400)."""


@dataclass
class Upload:
    """One image as it came over HTTP: the client's file name (or "upload") and its bytes."""

    name: str
    data: bytes


class Service:
    """A model ready to answer requests; ``torch_source`` is a ``.pt`` for feature maps, if there is one."""

    def __init__(self, predictor: Predictor, source_label: str, torch_source: Path | None, device: str = "auto") -> None:
        self.predictor = predictor
        self.source_label = source_label  # what /model says it serves, e.g. "bundled weights"
        self.torch_source = torch_source
        self.device = device
        self._torch: Any = predictor if _is_torch(predictor) else None
        self._lock = threading.Lock()

    def model_card(self) -> dict[str, Any]:
        """Name, classes, accuracy recorded with the weights, input size, and what the page can show."""
        p = self.predictor
        metadata = p.metadata
        accuracy = metadata.get("test_accuracy", metadata.get("metrics", {}).get("test_acc"))
        return {"model": p.model_name, "classes": p.classes, "test_accuracy": accuracy,
                "dataset": metadata.get("dataset"), "input_size": list(p.image_size), "channels": p.channels,
                "preprocess": p.mode, "source": self.source_label, "backend": "pytorch" if _is_torch(p) else p.format,
                "feature_maps": self.torch_source is not None}

    def predict(self, uploads: list[Upload], topk: int = 3) -> list[dict[str, Any]]:
        """``lenet predict --json``'s object for each upload, in order; any bad one raises."""
        stages: list[dict] = [{} for _ in uploads]
        images = [self.predictor.prepare(Path(u.name), s, data=_bytes_of(u)) for u, s in zip(uploads, stages)]
        return [p.to_dict() for p in self.predictor.predict(np.stack(images), [u.name for u in uploads], topk,
                                                            [s.get("no_digit") for s in stages])]

    def read_numbers(self, uploads: list[Upload]) -> list[dict[str, Any]]:
        """``lenet predict --number --json``'s object for each upload."""
        return [self.predictor.read_number(Path(u.name), data=_bytes_of(u)).to_dict() for u in uploads]

    def look_inside(self, upload: Upload) -> dict[str, Any]:
        """What the page shows: the prediction, every class's probability, the image the model saw
        (uint8 rows) and the first convolutional layers' maps (each scaled to 0..255)."""
        p = self.predictor
        image = p.prepare(Path(upload.name), data=_bytes_of(upload))
        prediction = p.predict(image[None], [upload.name], len(p.classes))[0]
        probabilities = dict(prediction.topk)
        shown = prediction.to_dict()
        return {"prediction": {**shown, "topk": shown["topk"][:3]},
                "probabilities": [probabilities[name] for name in p.classes],
                "classes": p.classes, "input": image[0].tolist(), "maps": self._maps(image, upload.name)}

    def _maps(self, image: np.ndarray, name: str) -> list[dict[str, Any]]:
        model = self._torch_predictor()
        if model is None:
            return []
        from ..inference.inspection import inspect_prepared

        layers = [layer for layer in inspect_prepared(model, image, name).layers
                  if "Conv" in layer.kind and layer.values.ndim == 3][:MAP_LAYERS]
        return [{"label": _paper_label(layer.label, k), "kind": layer.kind, "shape": list(layer.values.shape),
                 "maps": _to_bytes(layer.values).tolist()} for k, layer in enumerate(layers)]

    def _torch_predictor(self) -> Any:
        """The PyTorch copy of the model, loaded once, on first use (importing torch takes seconds)."""
        if self._torch is None and self.torch_source is not None:
            with self._lock:
                if self._torch is None:
                    from ..inference.torch_backend import TorchPredictor

                    self._torch = TorchPredictor(self.torch_source, self.predictor.mode, self.device)
        return self._torch


def load_service(checkpoint: str | None, preprocess: str | None = None, project: str = "runs/train",
                 device: str = "auto") -> Service:
    """The service for ``--checkpoint`` (None: the bundled weights, run through their ONNX copy on the CPU)."""
    from ..inference.loading import load_predictor, resolve_checkpoint, resolve_for_prediction

    path = resolve_for_prediction(checkpoint, project, device)
    predictor = load_predictor(path, preprocess, device)
    if checkpoint is None:
        return Service(predictor, "bundled weights", resolve_checkpoint(None), device)
    torch_source = path if _is_torch(predictor) else None
    return Service(predictor, path.name, torch_source, device)


def _is_torch(predictor: Predictor) -> bool:
    return hasattr(predictor, "model")


def _bytes_of(upload: Upload) -> bytes:
    if not upload.data:
        raise BadRequest(f"{upload.name}: empty upload; send the image's bytes")
    return upload.data


def _paper_label(label: str, index: int) -> str:
    """The paper's name where the model has one (C1, C3); the k-th convolution is C1, C3, C5 otherwise."""
    if label[:1] == "C" and label[1:].isdigit():
        return label
    return _PAPER_CONV_NAMES[index] if index < len(_PAPER_CONV_NAMES) else label


def _to_bytes(values: np.ndarray) -> np.ndarray:
    """Each map (first axis) scaled to 0..255 on its own range, as ``lenet inspect`` draws them."""
    low = values.min(axis=(1, 2), keepdims=True)
    span = np.maximum(values.max(axis=(1, 2), keepdims=True) - low, 1e-12)
    return np.round((values - low) / span * 255).astype(np.uint8)
