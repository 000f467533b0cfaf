"""Evaluation: loss and accuracy over in-memory tensors, and a model (checkpoint or export) on a dataset split."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import torch
import torch.nn.functional as F

from ..errors import LenetError
from .metrics import ClassificationReport

if TYPE_CHECKING:
    from ..inference.predictor import Predictor

__all__ = ["evaluate_sums", "predict_logits", "evaluate_split", "check_compatible", "confident_mistakes",
           "Evaluation", "Mistakes"]


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
class Evaluation:
    """How a model did on a dataset split: the metrics, and the images and answers its pictures need.

    ``report`` holds every number (``lenet eval --json`` prints it); the properties are its most used ones.
    """

    report: ClassificationReport
    dataset: str
    split: str
    checkpoint: str
    images: torch.Tensor  # uint8, as loaded
    labels: torch.Tensor
    probabilities: torch.Tensor  # softmax of the logits
    notes: list[str] = field(default_factory=list)  # the dataset's warnings (empty classes, ...)

    def __repr__(self) -> str:
        return (f"Evaluation(checkpoint={self.checkpoint!r}, dataset={self.dataset!r}, split={self.split!r}, "
                f"images={self.report.count}, accuracy={self.accuracy:.4f}, loss={self.loss:.4f})")

    @property
    def accuracy(self) -> float:
        """Top-1 accuracy, 0..1."""
        return self.report.accuracy

    @property
    def loss(self) -> float:
        """Mean cross-entropy of the model's scores."""
        return self.report.loss

    @property
    def topk_accuracy(self) -> float:
        """How often the true class is among the ``report.topk`` most likely ones."""
        return self.report.topk_accuracy

    @property
    def per_class(self) -> list[dict[str, Any]]:
        """One dict per class: class, precision, recall, f1, support."""
        return self.report.per_class

    @property
    def confusion(self) -> list[list[int]]:
        """Counts: rows are the true classes, columns the predicted ones."""
        return self.report.confusion

    @property
    def mistakes(self) -> "Mistakes":
        """Every wrongly classified image, the most confident mistake first."""
        return self.most_confident_mistakes(None)

    def most_confident_mistakes(self, limit: int | None = 48) -> "Mistakes":
        """The wrongly classified images, most confident first (at most ``limit``; None: all)."""
        return confident_mistakes(self.probabilities, self.labels, self.images, self.report.classes, limit)

    def plot_confusion(self) -> Any:
        """The confusion matrix as a matplotlib Figure (what ``lenet eval --plot`` saves as confusion.png)."""
        from .results import confusion_figure

        report = self.report
        wrong = report.count - round(report.accuracy * report.count)
        return confusion_figure(report.confusion, report.classes, f"{self.dataset} {self.split}: accuracy "
                                f"{report.accuracy:.2%} ({wrong:,} wrong of {report.count:,})")

    def plot_mistakes(self, limit: int = 48) -> Any:
        """The ``limit`` most confident mistakes as a Figure: each image with 'true -> predicted' and p."""
        from ._drawing import image_figure

        return image_figure(self.mistakes_sheet(limit))

    def mistakes_sheet(self, limit: int = 48) -> Any:
        """The picture ``plot_mistakes`` shows, as a Pillow image (mistakes.png)."""
        from .results import mistakes_sheet

        found = self.most_confident_mistakes(limit)
        return mistakes_sheet(found.images, found.true, found.predicted, found.confidence)

    def to_dict(self) -> dict[str, Any]:
        """Where it was measured and every number: ``lenet eval --json`` without the plots."""
        return {"checkpoint": self.checkpoint, "dataset": self.dataset, "split": self.split, **self.report.to_dict()}

    def _repr_html_(self) -> str:
        from ..display import percent, side_by_side, table_html, titled

        report = self.report
        head = table_html(["metric", "value"], [
            ("accuracy (top-1)", percent(report.accuracy)), (f"accuracy (top-{report.topk})", percent(report.topk_accuracy)),
            ("loss (cross-entropy)", f"{report.loss:.4f}"), ("images", f"{report.count:,}")], numeric=[1])
        per_class = table_html(["class", "precision", "recall", "f1", "support"], [
            (row["class"], f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}", row["support"])
            for row in report.per_class], numeric=[1, 2, 3, 4])
        matrix = table_html(["true \\ predicted", *report.classes],
                            [(name, *(count or "" for count in row)) for name, row in zip(report.classes, report.confusion)],
                            numeric=range(1, len(report.classes) + 1), caption="confusion matrix")
        return titled(f"{self.checkpoint} on {self.dataset} ({self.split})", side_by_side(head, per_class, matrix))


def confident_mistakes(probabilities: torch.Tensor, labels: torch.Tensor, images: torch.Tensor, classes: list[str],
                       limit: int | None = 48) -> "Mistakes":
    """The wrongly classified ``images`` (uint8, as loaded), most confident first (at most ``limit``; None: all)."""
    confidence, predicted = probabilities.max(1)
    wrong = (predicted != labels).nonzero().flatten()
    worst = wrong[confidence[wrong].argsort(descending=True)][:limit]
    return Mistakes(images[worst].numpy(), [classes[i] for i in labels[worst].tolist()],
                    [classes[i] for i in predicted[worst].tolist()], confidence[worst].tolist(), worst.tolist())


@dataclass
class Mistakes:
    """Misclassified images with what they were and what the model said, ready to draw."""

    images: Any  # uint8 N x C x H x W NumPy array
    true: list[str]
    predicted: list[str]
    confidence: list[float]
    indices: list[int] = field(default_factory=list)  # each image's position in its split

    def __len__(self) -> int:
        return len(self.true)


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


def evaluate_split(
    predictor: "Predictor",
    *,
    dataset: str | None = None,
    split: str = "test",
    data_dir: str | Path | None = None,
    offline: bool | None = None,
    topk: int = 5,
) -> Evaluation:
    """Evaluate a loaded checkpoint or export on a dataset split (by default the one it was trained on).

    The model runs as its users run it: a lenet checkpoint in PyTorch, an export on its format's runtime.
    """
    from ..data import get_dataset
    from ..data.preprocess import Normalization, to_model_input
    from .metrics import classification_report

    metadata, path = predictor.metadata, predictor.checkpoint
    name = dataset or metadata.get("dataset")
    if not name:
        raise LenetError(f"{path} does not say which dataset it was trained on; give --dataset")
    data = get_dataset(name, split, data_dir=data_dir, offline=offline)
    check_compatible(metadata, data.spec, str(path))
    x = to_model_input(data.images, Normalization.from_dict(metadata["normalization"]))
    logits = _scorer(predictor)(x).float().cpu()
    report = classification_report(logits, data.labels, list(metadata["classes"]), topk)
    return Evaluation(report, name, split, str(path), data.images, data.labels, logits.softmax(1), list(data.notes))


def _scorer(predictor: "Predictor") -> Callable[[torch.Tensor], torch.Tensor]:
    """A function from model input (a whole split) to the model's scores."""
    from ..inference.torch_backend import TorchPredictor

    if not isinstance(predictor, TorchPredictor):
        run = predictor.loaded.run  # type: ignore[attr-defined]  # an ExportedPredictor

        def run_export(x: torch.Tensor) -> torch.Tensor:
            return torch.cat([torch.from_numpy(run(x[i : i + 1000].numpy())) for i in range(0, len(x), 1000)])

        return run_export
    # whole splits run faster channels-last, the layout training evaluates in
    model = predictor.model.to(memory_format=torch.channels_last)

    def run_model(x: torch.Tensor) -> torch.Tensor:
        return predict_logits(model, x.to(predictor.device).contiguous(memory_format=torch.channels_last))

    return run_model
