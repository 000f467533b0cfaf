"""Loss and accuracy of a model over in-memory tensors, in batches, without gradients."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["evaluate", "predict_logits"]


@torch.no_grad()
def predict_logits(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits for every row of ``x`` (already model input), on ``x``'s device."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> tuple[float, float]:
    """Mean cross-entropy and top-1 accuracy."""
    if len(x) == 0:
        return float("nan"), float("nan")
    logits = predict_logits(model, x, batch_size)
    loss = F.cross_entropy(logits, y).item()
    accuracy = (logits.argmax(1) == y).float().mean().item()
    return loss, accuracy
