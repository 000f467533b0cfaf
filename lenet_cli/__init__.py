"""lenet: train, evaluate, inspect, export and use LeNet-family networks on MNIST-like data.

The public API is importable without torch; torch loads when a model or a
dataset is actually built. Its names load on first use, so a command that needs
none of them (``lenet predict``) does not pay for them at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

_PUBLIC = {  # public name -> the submodule that defines it
    "Dataset": "data", "DatasetSpec": "data", "get_dataset": "data", "get_dataset_spec": "data", "list_datasets": "data",
    "LenetError": "errors",
    "ModelSpec": "models", "get_model": "models", "get_model_spec": "models", "list_models": "models",
    "register_model": "models",
}
__all__ = ["__version__", *_PUBLIC]
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)

if TYPE_CHECKING:
    from .data import Dataset, DatasetSpec, get_dataset, get_dataset_spec, list_datasets
    from .errors import LenetError
    from .models import ModelSpec, get_model, get_model_spec, list_models, register_model
