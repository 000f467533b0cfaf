"""The model registry. Importing this package never imports torch."""

from __future__ import annotations

from . import catalog as _catalog  # noqa: F401  (fills the registry)
from .registry import ModelSpec, PaperFigures, get_model, get_model_spec, list_models, register_model

__all__ = ["ModelSpec", "PaperFigures", "get_model", "get_model_spec", "list_models", "register_model"]
