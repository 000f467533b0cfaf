"""Classification metrics from logits: loss, top-k accuracy, per-class scores, confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["ClassificationReport", "classification_report"]


@dataclass
class ClassificationReport:
    classes: list[str]
    count: int
    loss: float
    accuracy: float  # top-1
    topk: int
    topk_accuracy: float
    per_class: list[dict[str, Any]] = field(default_factory=list)  # name, precision, recall, f1, support
    macro: dict[str, float] = field(default_factory=dict)
    weighted: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)  # rows: true class, columns: predicted

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count, "loss": self.loss, "accuracy": self.accuracy,
            "topk": self.topk, "topk_accuracy": self.topk_accuracy,
            "per_class": self.per_class, "macro_avg": self.macro, "weighted_avg": self.weighted,
            "confusion_matrix": self.confusion, "classes": self.classes,
        }


def _safe_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise a / b with 0 where b is 0 (the usual convention for empty classes)."""
    return torch.where(b > 0, a / b.clamp(min=1), torch.zeros_like(a))


def classification_report(logits: torch.Tensor, labels: torch.Tensor, classes: list[str], topk: int = 5) -> ClassificationReport:
    """All metrics for one evaluation; ``topk`` is capped at the number of classes."""
    n_classes = len(classes)
    logits, labels = logits.float().cpu(), labels.cpu()
    k = max(1, min(topk, n_classes))
    predicted = logits.argmax(1)
    top = logits.topk(k, dim=1).indices
    confusion = torch.bincount(labels * n_classes + predicted, minlength=n_classes * n_classes).view(n_classes, n_classes)
    true_pos = confusion.diag().double()
    support = confusion.sum(1).double()
    predicted_count = confusion.sum(0).double()
    precision = _safe_div(true_pos, predicted_count)
    recall = _safe_div(true_pos, support)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    per_class = [
        {"class": classes[i], "precision": precision[i].item(), "recall": recall[i].item(),
         "f1": f1[i].item(), "support": int(support[i].item())}
        for i in range(n_classes)
    ]
    weights = support / support.sum().clamp(min=1)
    return ClassificationReport(
        classes=list(classes),
        count=len(labels),
        loss=F.cross_entropy(logits, labels).item(),
        accuracy=(predicted == labels).double().mean().item(),
        topk=k,
        topk_accuracy=(top == labels[:, None]).any(1).double().mean().item(),
        per_class=per_class,
        macro={"precision": precision.mean().item(), "recall": recall.mean().item(), "f1": f1.mean().item()},
        weighted={"precision": (precision * weights).sum().item(), "recall": (recall * weights).sum().item(),
                  "f1": (f1 * weights).sum().item()},
        confusion=confusion.tolist(),
    )
