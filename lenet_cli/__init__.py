"""lenet: train, evaluate, inspect, export and use LeNet-family networks on MNIST-like data.

The public API is importable without torch; torch loads when a model or a
dataset is actually built. Its names load on first use (PEP 562), so a command
that needs none of them (``lenet predict``) does not pay for them at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_PUBLIC = {
    "Dataset": "data", "DatasetSpec": "data", "get_dataset": "data", "get_dataset_spec": "data", "list_datasets": "data",
    "LenetError": "errors",
    "ModelSpec": "models", "get_model": "models", "get_model_spec": "models", "list_models": "models",
    "register_model": "models",
}

__all__ = ["__version__", *_PUBLIC]

if TYPE_CHECKING:
    from .data import Dataset, DatasetSpec, get_dataset, get_dataset_spec, list_datasets
    from .errors import LenetError
    from .models import ModelSpec, get_model, get_model_spec, list_models, register_model


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'lenet_cli' has no attribute {name!r}")
    value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
