"""Training losses: cross-entropy for linear outputs, the paper's RBF losses for ``lenet5-classic``."""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import UsageError

__all__ = ["loss_name", "make_criterion"]

Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def loss_name(model: torch.nn.Module, requested: str, model_name: str = "") -> str:
    """Resolve ``auto`` to the model's own loss and refuse losses the model's output cannot take."""
    name = getattr(model, "native_loss", "cross-entropy") if requested == "auto" else requested
    supported = getattr(model, "supported_losses", ("cross-entropy",))
    if name not in supported:
        raise UsageError(f"--loss {name} does not apply to {model_name or type(model).__name__}; "
                         f"it supports: {', '.join(supported)}")
    return name


def make_criterion(name: str, label_smoothing: float = 0.0) -> Criterion:
    """``loss(scores, target)``; label smoothing applies to cross-entropy only."""
    if name == "cross-entropy":
        return partial(F.cross_entropy, label_smoothing=label_smoothing)
    from ..models.classic import rbf_loss

    return partial(rbf_loss, kind=name)
