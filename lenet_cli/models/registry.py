"""The model registry: :class:`ModelSpec` entries in the shared ``Registry``, filled by ``catalog.py``.

Specs are pure data, so listing models never imports torch; the builder named
by ``ModelSpec.builder`` is imported only when a model is actually built.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..registry import Registry

if TYPE_CHECKING:
    from torch import nn

__all__ = ["MODELS", "ModelSpec", "PaperFigures", "register_model", "get_model", "get_model_spec", "list_models"]


@dataclass(frozen=True)
class PaperFigures:
    """What LeCun et al. 1998 report for a model, to set beside what we build and measure."""

    section: str  # where the paper describes it, e.g. "II.B"
    test_error: float  # MNIST test error in percent, as reported
    params: int  # trainable parameters
    connections: int  # connections (multiply-adds plus biases)
    approximate: bool = False  # the paper says "about"
    # (module name, paper's layer label, parameters, connections), in forward order
    layers: tuple[tuple[str, str, int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section, "test_error": self.test_error, "params": self.params,
            "connections": self.connections, "approximate": self.approximate,
            "layers": [{"module": m, "label": label, "params": p, "connections": c} for m, label, p, c in self.layers],
        }


@dataclass(frozen=True)
class ModelSpec:
    """Everything the tool knows about a model without building it."""

    name: str
    builder: str  # "package.module:function", imported on first build
    input_shape: tuple[int, int, int]  # default (C, H, W)
    num_classes: int  # default number of outputs
    description: str  # one line for `lenet models`
    origin: str  # paper or textbook it comes from
    num_params: int  # for the default input shape and classes; checked by tests
    # Model input values of background and full ink, e.g. the paper's (-0.1, 1.175);
    # None: standardise with the dataset's mean and std.
    input_range: tuple[float, float] | None = None
    content_scale: float = 1.0  # images shrink by this before padding (LeNet-1 reads 16x16 digits in 28x28)
    paper: PaperFigures | None = None  # the paper's own figures, for `lenet summary --paper`
    # (module name, the paper's layer label) for pictures, where the paper's figures do not list the layers
    layer_labels: tuple[tuple[str, str], ...] = ()

    def labels(self) -> dict[str, str]:
        """Module name -> the paper's layer label (C1, S2, C3, S4, C5, F6, OUTPUT) for this model's layers."""
        return dict(self.layer_labels) or {module: label for module, label, _, _ in (self.paper.layers if self.paper else ())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "num_params": self.num_params,
            "description": self.description,
            "origin": self.origin,
            "input_range": list(self.input_range) if self.input_range else None,
            "content_scale": self.content_scale,
            "paper": self.paper.to_dict() if self.paper else None,
        }


MODELS: Registry[ModelSpec] = Registry("model")


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the registry; a name can be registered only once."""
    return MODELS.register(spec.name, spec)


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names in declaration order, optionally filtered by a glob pattern."""
    return MODELS.names(pattern)


def get_model_spec(name: str) -> ModelSpec:
    """The spec registered under ``name``; unknown names raise with the nearest and the valid ones."""
    return MODELS[name]


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """Build model ``name``. Options left as ``None`` are dropped so the builder's defaults win."""
    spec = get_model_spec(name)
    module_name, func_name = spec.builder.split(":")
    builder = getattr(importlib.import_module(module_name), func_name)
    return builder(**{k: v for k, v in kwargs.items() if v is not None})
