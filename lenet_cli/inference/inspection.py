"""What a network does with one image: every layer's activations and the output scores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.preprocess import to_model_input
from ..errors import UsageError
from ..models import get_model_spec
from .predictor import Prediction
from .torch_backend import TorchPredictor

__all__ = ["LayerActivation", "Inspection", "inspect_image", "inspect_prepared"]

# Activations are drawn as the state of the layer before them, as the paper draws its units.
_ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.GELU, nn.ELU, nn.SiLU, nn.Softmax)


@dataclass
class LayerActivation:
    name: str  # module path, e.g. "c1" or "features.0"
    label: str  # what to call it in pictures: the paper's label where there is one
    kind: str  # e.g. "Conv2d+ReLU"
    values: np.ndarray  # float32, without the batch dimension

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "kind": self.kind, "shape": list(self.values.shape),
                "min": float(self.values.min()), "max": float(self.values.max()),
                "mean": float(self.values.mean())}


@dataclass
class Inspection:
    path: str
    model: str
    classes: list[str]
    image: np.ndarray  # uint8 C x H x W: what the model was shown, before normalisation
    model_input: np.ndarray  # float32 C x S x S
    layers: list[LayerActivation]
    scores: list[float]  # the model's outputs (negated RBF penalties for lenet5-classic)
    prediction: Prediction

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "model": self.model, "input_shape": list(self.model_input.shape),
                "prediction": self.prediction.to_dict(), "scores": self.scores,
                "layers": [layer.to_dict() for layer in self.layers]}


def _labels(model_name: str) -> dict[str, str]:
    """The paper's layer labels (C1, S2, ...) of the model's modules."""
    try:
        return get_model_spec(model_name).labels()
    except UsageError:  # a checkpoint of a model this version no longer registers
        return {}


def inspect_image(predictor: TorchPredictor, path: Path, topk: int = 3) -> Inspection:
    """Run one image file through ``predictor``'s model, recording every layer's output."""
    return inspect_prepared(predictor, predictor.prepare(path), str(path), topk)


@torch.no_grad()
def inspect_prepared(predictor: TorchPredictor, image: np.ndarray, name: str, topk: int = 3) -> Inspection:
    """Run one prepared image (uint8 C x H x W, called ``name``) through the model, recording every layer."""
    x = to_model_input(torch.from_numpy(image[None]), predictor.norm)
    labels = _labels(predictor.model_name)
    layers: list[LayerActivation] = []
    hooks = []

    def record(module_name: str, module: nn.Module):
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if not isinstance(output, torch.Tensor):
                return
            values = output[0].detach().float().cpu().numpy()
            if isinstance(module, _ACTIVATIONS) and layers and layers[-1].values.shape == values.shape:
                layers[-1].values, layers[-1].kind = values, f"{layers[-1].kind}+{type(module).__name__}"
                return
            layers.append(LayerActivation(module_name, labels.get(module_name, module_name), type(module).__name__, values))

        return hook

    for module_name, module in predictor.model.named_modules():
        if module_name and not any(True for _ in module.children()) and not isinstance(module, (nn.Flatten, nn.Dropout)):
            hooks.append(module.register_forward_hook(record(module_name, module)))
    try:
        scores = predictor.model(x)[0]
    finally:
        for hook in hooks:
            hook.remove()
    prediction = predictor.predict(image[None], [name], topk)[0]
    return Inspection(name, predictor.model_name, predictor.classes, image, x[0].numpy(), layers,
                      scores.tolist(), prediction)
