"""Evaluation: loss and accuracy over in-memory tensors, and whole-checkpoint evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..errors import LenetError

__all__ = ["evaluate_sums", "predict_logits", "evaluate_checkpoint", "check_compatible", "confident_mistakes",
           "CheckpointEvaluation", "Mistakes"]


@torch.no_grad()
def predict_logits(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000,
                   inputs: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Logits for every row of ``x``, on ``x``'s device; ``inputs`` makes each batch model input (default: it is)."""
    was_training = model.training
    model.eval()
    prepare = inputs or (lambda batch: batch)
    try:
        return torch.cat([model(prepare(x[i : i + batch_size])) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def evaluate_sums(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                  criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
                  batch_size: int = 1000, inputs: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  ) -> tuple[float, int, int]:
    """(loss summed over images, correct, count): adds up across shards of a distributed run."""
    if len(x) == 0:
        return 0.0, 0, 0
    logits = predict_logits(model, x, batch_size, inputs).float()
    return criterion(logits, y).item() * len(y), int((logits.argmax(1) == y).sum()), len(y)


@dataclass
class CheckpointEvaluation:
    """The outcome of ``evaluate_checkpoint``: metrics plus what plots need."""

    report: Any  # ClassificationReport
    dataset: str
    split: str
    checkpoint: str
    images: torch.Tensor  # uint8, as loaded
    labels: torch.Tensor
    probabilities: torch.Tensor  # softmax of the logits
    notes: list[str] = field(default_factory=list)  # the dataset's warnings (empty classes, ...)

    def most_confident_mistakes(self, limit: int = 48) -> "Mistakes":
        """The wrongly classified images, most confident first (at most ``limit``)."""
        return confident_mistakes(self.probabilities, self.labels, self.images, self.report.classes, limit)


def confident_mistakes(probabilities: torch.Tensor, labels: torch.Tensor, images: torch.Tensor, classes: list[str],
                       limit: int = 48) -> "Mistakes":
    """The wrongly classified ``images`` (uint8, as loaded), most confident first (at most ``limit``)."""
    confidence, predicted = probabilities.max(1)
    wrong = (predicted != labels).nonzero().flatten()
    worst = wrong[confidence[wrong].argsort(descending=True)][:limit]
    return Mistakes(images[worst].numpy(), [classes[i] for i in labels[worst].tolist()],
                    [classes[i] for i in predicted[worst].tolist()], confidence[worst].tolist())


@dataclass
class Mistakes:
    """Misclassified images with what they were and what the model said, ready to draw."""

    images: Any  # uint8 N x C x H x W NumPy array
    true: list[str]
    predicted: list[str]
    confidence: list[float]


def check_compatible(checkpoint: dict[str, Any], spec: Any, where: str) -> None:
    """A model must fit the data: channels, classes and image size."""
    problems = []
    if checkpoint["model_args"].get("in_channels") != spec.channels:
        problems.append(f"model takes {checkpoint['model_args'].get('in_channels')} channel(s), data has {spec.channels}")
    if list(checkpoint["classes"]) != list(spec.classes):
        problems.append(f"model knows {len(checkpoint['classes'])} classes ({', '.join(checkpoint['classes'][:4])}, ...), "
                        f"data has {len(spec.classes)} ({', '.join(spec.classes[:4])}, ...)")
    if "image_size" in checkpoint and list(checkpoint["image_size"]) != list(spec.size):
        problems.append(f"model was trained on {checkpoint['image_size'][0]}x{checkpoint['image_size'][1]} images, "
                        f"data is {spec.size[0]}x{spec.size[1]}")
    if problems:
        raise LenetError(f"Checkpoint {where} does not fit dataset {spec.name!r}: " + "; ".join(problems))


def evaluate_checkpoint(
    path: str | Path,
    *,
    dataset: str | None = None,
    split: str = "test",
    data_dir: str | Path | None = None,
    offline: bool | None = None,
    topk: int = 5,
    device: str = "auto",
) -> CheckpointEvaluation:
    """Evaluate a checkpoint, or an export (``.onnx``, ...), on a dataset split (by default the one it was trained on)."""
    from ..data import get_dataset
    from ..data.preprocess import Normalization, to_model_input
    from .metrics import classification_report

    metadata, score = _scorer(Path(path), device)
    name = dataset or metadata.get("dataset")
    if not name:
        raise LenetError(f"{path} does not say which dataset it was trained on; give --dataset")
    data = get_dataset(name, split, data_dir=data_dir, offline=offline)
    check_compatible(metadata, data.spec, str(path))
    x = to_model_input(data.images, Normalization.from_dict(metadata["normalization"]))
    logits = score(x).float().cpu()
    report = classification_report(logits, data.labels, list(metadata["classes"]), topk)
    return CheckpointEvaluation(report, name, split, str(path), data.images, data.labels, logits.softmax(1),
                                list(data.notes))


def _scorer(path: Path, device: str) -> tuple[dict[str, Any], Callable[[torch.Tensor], torch.Tensor]]:
    """What the file says about its model (classes, normalisation, dataset) and a function from model input to scores.

    The file is loaded as predict loads it: a lenet checkpoint runs in PyTorch on ``device``; an export runs on its
    format's runtime, as its users run it.
    """
    from ..inference.loading import load_predictor
    from ..inference.torch_backend import TorchPredictor

    predictor = load_predictor(path, device=device)
    if not isinstance(predictor, TorchPredictor):
        run = predictor.loaded.run

        def run_export(x: torch.Tensor) -> torch.Tensor:
            return torch.cat([torch.from_numpy(run(x[i : i + 1000].numpy())) for i in range(0, len(x), 1000)])

        return predictor.metadata, run_export
    # whole splits run faster channels-last, the layout training evaluates in
    model = predictor.model.to(memory_format=torch.channels_last)

    def run_model(x: torch.Tensor) -> torch.Tensor:
        return predict_logits(model, x.to(predictor.device).contiguous(memory_format=torch.channels_last))

    return predictor.metadata, run_model
