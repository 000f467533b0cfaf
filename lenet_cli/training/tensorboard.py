"""TensorBoard event files in the run directory (``--log tensorboard``), with PyTorch's own writer.

Per epoch every column of metrics.csv; the learning rate per step; at the end the confusion
matrix and the most confident mistakes of the test split as images, and the run's options
with its final metrics for the HParams table, so that ``tensorboard --logdir runs/train``
compares runs side by side. The ``tensorboard`` package is the optional extra of that name.
"""

from __future__ import annotations

import importlib.util
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import LenetError

__all__ = ["TAGS", "TensorBoardLog", "require_tensorboard"]

# metrics.csv column -> TensorBoard tag (grouped into the loss, accuracy and speed sections)
TAGS = {
    "train_loss": "loss/train", "val_loss": "loss/val", "test_loss": "loss/test",
    "train_objective": "loss/train_objective", "train_acc": "accuracy/train", "val_acc": "accuracy/val",
    "test_acc": "accuracy/test", "lr": "lr/epoch_end", "seconds": "speed/epoch_seconds",
    "images_per_s": "speed/images_per_s",
}


def require_tensorboard() -> None:
    """A clear exit 1 before anything is trained when the writer's package is missing."""
    if importlib.util.find_spec("tensorboard") is None:
        raise LenetError("--log tensorboard needs the tensorboard package: pip install 'lenet-cli[tensorboard]'")


class TensorBoardLog:
    """Writes one run's events into its run directory; fed the trainer's events, finished with the test results."""

    def __init__(self, run_dir: Path) -> None:
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir))

    def on_event(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "step":
            self.writer.add_scalar("lr/step", payload["lr"], payload["global_step"])
        elif kind == "epoch":
            for column, tag in TAGS.items():
                value = payload.get(column)
                if value is not None and math.isfinite(value):
                    self.writer.add_scalar(tag, value, payload["epoch"])

    def finish(self, model: torch.nn.Module, x_test: torch.Tensor, y_test: torch.Tensor, test_images: torch.Tensor,
               classes: list[str], config: dict[str, Any], result: dict[str, Any]) -> None:
        """The confusion matrix and the mistakes of ``model`` on the test split, the HParams entry; then close."""
        from ..evaluation.evaluate import predict_logits
        from ..evaluation.metrics import classification_report

        logits = predict_logits(model, x_test).float().cpu()
        labels = y_test.cpu()
        report = classification_report(logits, labels, classes)
        self._image("test/confusion_matrix", _confusion_png(report))
        self._image("test/most_confident_mistakes", _mistakes_png(logits, labels, test_images, classes))
        self._hparams(config, result)
        self.close()

    def close(self) -> None:
        self.writer.close()

    def _image(self, tag: str, png: bytes) -> None:
        from PIL import Image

        with Image.open(io.BytesIO(png)) as picture:
            self.writer.add_image(tag, np.asarray(picture.convert("RGB")), dataformats="HWC")

    def _hparams(self, config: dict[str, Any], result: dict[str, Any]) -> None:
        """The run's options and final metrics, written into this run's own event file (not a sub-run)."""
        from torch.utils.tensorboard.summary import hparams

        options = {k: v for k, v in config.items() if isinstance(v, (bool, int, float, str))}
        metrics = {f"hparam/{k}": float(result[k]) for k in ("test_accuracy", "best_val_accuracy", "epochs")
                   if result.get(k) is not None}
        for summary in hparams(options, metrics):
            self.writer.file_writer.add_summary(summary)
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value)


def _confusion_png(report: Any) -> bytes:
    from ..evaluation.results import draw_confusion_matrix

    return _drawn(lambda path: draw_confusion_matrix(report.confusion, report.classes, path))


def _mistakes_png(logits: torch.Tensor, labels: torch.Tensor, images: torch.Tensor, classes: list[str]) -> bytes:
    from ..evaluation.evaluate import confident_mistakes
    from ..evaluation.results import draw_mistakes

    found = confident_mistakes(logits.softmax(1), labels, images, classes)
    return _drawn(lambda path: draw_mistakes(found.images, found.true, found.predicted, found.confidence, path))


def _drawn(draw: Any) -> bytes:
    """A picture drawn to a temporary file by one of the drawing functions, as PNG bytes."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "picture.png"
        draw(path)
        return path.read_bytes()
