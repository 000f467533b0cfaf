"""lenet: train, evaluate, inspect, export and use LeNet-family networks on MNIST-like data.

The public API is importable without torch; torch loads when a model or a
dataset is actually built.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .data import Dataset, DatasetSpec, get_dataset, get_dataset_spec, list_datasets
from .errors import LenetError
from .models import ModelSpec, get_model, get_model_spec, list_models, register_model

__all__ = [
    "__version__",
    "Dataset", "DatasetSpec", "LenetError", "ModelSpec",
    "get_dataset", "get_dataset_spec", "get_model", "get_model_spec",
    "list_datasets", "list_models", "register_model",
]
