"""A trained model from Python: ``load()`` it, then predict, evaluate, export, inspect and summarise it.

These are what ``lenet predict``, ``eval``, ``export``, ``inspect`` and ``summary`` call: a checkpoint is
chosen the way ``-c/--checkpoint`` chooses it, and each answer is the one the command prints. Loading the
bundled weights imports no torch; predicting with them runs their ONNX copy, as ``lenet predict`` does.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Iterable, Iterator, Sequence, Union

from ..errors import DataFormatError, UsageError, require_choice
from ..inference import MOST_DIGITS, TOPK
from ..numbers import require_in_range
from .inputs import Picture, PictureSource, pictures

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

    from ..evaluation.evaluate import Evaluation
    from ..export.exporter import ExportResult
    from ..inference.inspection import Inspection
    from ..inference.predictor import NumberReading, OnPrepared, Prediction, Predictor, Unreadable
    from ..models.summary import Summary

__all__ = ["Model", "PredictionList", "load", "summary"]

Answer = Union["Prediction", "NumberReading"]


def load(checkpoint: str | Path | None = None, *, device: str = "auto", preprocess: str | None = None,
         project: str | Path = "runs/train") -> Model:
    """A model to use: the bundled MNIST LeNet-5 (``None``), a checkpoint (``.pt``), an export (``.onnx``,
    ``.torchscript.pt``, ``.safetensors``), or ``"last"``: the newest run under ``project`` (its best.pt, else
    last.pt).

    ``device`` is where a checkpoint runs (auto, cpu, cuda, mps); ``preprocess`` how pictures become model
    input (mnist, resize or none; default: mnist for 1-channel models). A missing file raises
    ``InputNotFound`` (exit code 66) here; the file is read when it is first used, and one that is not a
    lenet model raises ``DataFormatError`` (65) then.
    """
    from ..data.images import PREPROCESS_MODES
    from ..inference.loading import resolve_checkpoint
    from ..training.config import CHOICES

    require_choice("--device", device, CHOICES["device"])
    if preprocess is not None:
        require_choice("--preprocess", preprocess, PREPROCESS_MODES)
    path = resolve_checkpoint(None if checkpoint is None else str(checkpoint), project)
    return Model(path, device=device, preprocess=preprocess, project=project, bundled=checkpoint is None)


class Model:
    """A trained LeNet-family network, ready to use; ``load()`` makes one.

    ``path`` is its file (a checkpoint or an export), ``name`` its architecture, ``classes`` what it tells apart.
    """

    def __init__(self, path: Path, *, device: str = "auto", preprocess: str | None = None,
                 project: str | Path = "runs/train", bundled: bool = False) -> None:
        self.path = Path(path)
        self.device, self.preprocess, self.project, self.bundled = device, preprocess, Path(project), bundled
        self._file: Predictor | None = None  # the file itself, run by its own runtime: evaluate, inspect
        self._predictor: Predictor | None = None  # what predicts: the bundled weights' ONNX copy, where it runs

    def __repr__(self) -> str:
        return f"Model({str(self.path)!r})" if self._predictor is None else \
            f"Model({str(self.path)!r}, name={self.name!r}, classes={len(self.classes)})"

    @property
    def name(self) -> str:
        """The architecture, a name from ``lenet models``."""
        return self.predictor.model_name

    @property
    def classes(self) -> list[str]:
        """The class names, in the order of the model's outputs."""
        return self.predictor.classes

    @property
    def predictor(self) -> Predictor:
        """What predicts (the Predictor of ``lenet predict -c``), loaded on first use."""
        if self._predictor is None and not self.bundled:
            self._predictor = self._loaded_file()
        elif self._predictor is None:
            from ..inference.loading import load_predictor, resolve_for_prediction

            self._predictor = load_predictor(resolve_for_prediction(None, self.project, self.device),
                                             self.preprocess, self.device)
        return self._predictor

    def _loaded_file(self) -> Predictor:
        """``path`` itself, loaded on first use: a checkpoint in PyTorch, an export on its runtime."""
        if self._file is None:
            from ..inference.loading import load_predictor

            self._file = load_predictor(self.path, self.preprocess, self.device)
        return self._file

    def predict(self, source: PictureSource | Sequence[PictureSource], *, number: bool = False,
                digits: int | None = None, topk: int = TOPK, recursive: bool = False,
                jobs: int | None = None) -> Answer | PredictionList:
        """The class of each picture: a path, a folder, a PIL image, a NumPy array, a torch tensor, the bytes
        of an image file, or a list of them.

        One picture gives one ``Prediction`` (``number=True``: a ``NumberReading``, a row of digits read as a
        whole number; ``digits=N``: a number of exactly N digits); a list, a folder or a batch gives a
        ``PredictionList``. Photos and scans are prepared as MNIST was (``preprocess``); a picture with no
        writing is answered "no digit" with a reason. A file that cannot be read raises ``DataFormatError``
        (exit code 65), a missing one ``InputNotFound`` (66).
        """
        require_in_range("--topk", topk, 1, integer=True)
        require_in_range("--digits", digits, 1, MOST_DIGITS, integer=True)
        found, single = pictures(source, recursive)
        answers: list[Any] = [self.predictor.read_number(path, data=data, digits=digits) for path, data in found] \
            if number or digits is not None else self._digits(found, topk, jobs)
        return answers[0] if single else PredictionList(answers)

    def _digits(self, found: list[Picture], topk: int, jobs: int | None) -> list[Prediction]:
        """A Prediction per picture, each with the input the model saw; files are prepared as `lenet predict`
        prepares them (by several processes from 64 on)."""
        seen: list[np.ndarray] = []
        if all(data is None for _, data in found):
            answers = self.predict_files([path for path, _ in found], topk=topk, jobs=jobs, stages_needed=(),
                                         on_prepared=lambda index, path, image, stages: seen.append(image))
            with contextlib.closing(answers):
                predictions = [_readable(answer) for answer in answers]
        else:
            predictions = self._in_memory(found, topk, seen)
        for prediction, image in zip(predictions, seen):
            prediction.input = image
        return predictions

    def _in_memory(self, found: list[Picture], topk: int, seen: list[np.ndarray]) -> list[Prediction]:
        """Predictions for pictures some of which are held in memory, prepared one by one."""
        import numpy as np

        from ..inference.predictor import PREDICT_BATCH

        reasons: list[str | None] = []
        for path, data in found:
            stages: dict = {}
            seen.append(self.predictor.prepare(path, stages, data))
            reasons.append(stages.get("no_digit"))
        names = [str(path) for path, _ in found]
        return [prediction for start in range(0, len(found), PREDICT_BATCH) for prediction in self.predictor.predict(
            np.stack(seen[start : start + PREDICT_BATCH]), names[start : start + PREDICT_BATCH], topk,
            reasons[start : start + PREDICT_BATCH])]

    def predict_files(self, paths: Iterable[Path], *, number: bool = False, digits: int | None = None,
                      topk: int = TOPK, jobs: int | None = None, on_prepared: OnPrepared | None = None,
                      stages_needed: Collection[str] | None = None) -> Iterator[Answer | Unreadable]:
        """Answers for image files as they come, in order: what `lenet predict` prints. A file that cannot be
        read is an ``Unreadable`` in its place and the others are still answered. ``on_prepared(index, path,
        image, stages)`` sees what the model sees; ``stages_needed`` names the preparation steps it reads."""
        if number or digits is not None:
            return self.predictor.read_numbers(paths, on_prepared=on_prepared, digits=digits)
        return self.predictor.predict_paths(paths, topk, on_prepared=on_prepared, jobs=jobs,
                                            stages_needed=stages_needed)

    def evaluate(self, dataset: str | None = None, split: str = "test", *, data_dir: str | Path | None = None,
                 offline: bool | None = None, topk: int = TOPK) -> Evaluation:
        """Loss, top-1 and top-k accuracy, per-class scores and the confusion matrix on a dataset split (by
        default the test split of the dataset the model was trained on), as ``lenet eval`` reports them."""
        from ..data.specs import SPLITS
        from ..evaluation.evaluate import evaluate_split

        require_choice("--split", split, SPLITS)
        require_in_range("--topk", topk, 1, integer=True)
        return evaluate_split(self._loaded_file(), dataset=dataset, split=split, data_dir=data_dir,
                              offline=offline, topk=topk)

    def export(self, format: str, out: str | Path | None = None, *, verify_images: int = 256,
               **options: Any) -> Path:
        """Write the model in another format (onnx, torchscript, safetensors: docs/export.md) and return the
        file's path; see ``export_result``."""
        return self.export_result(format, out, verify_images=verify_images, **options).path

    def export_result(self, format: str, out: str | Path | None = None, *, verify_images: int = 256,
                      **options: Any) -> ExportResult:
        """Export as ``lenet export`` does: the file is kept only if, loaded back, it reproduces the PyTorch
        model on ``verify_images`` real test images. ``out`` defaults to beside the checkpoint (best.pt ->
        best.onnx); ``options`` are the format's own (ONNX: ``opset``, ``dynamic_batch``)."""
        from ..export.exporter import default_output, export_checkpoint
        from ..export.registry import VERIFY_IMAGES
        from ..inference.loading import require_lenet_checkpoint

        require_in_range("--verify-images", verify_images, *VERIFY_IMAGES, integer=True)
        source = require_lenet_checkpoint(self.path, "export")
        target = Path(out) if out is not None else default_output(source, format, bundled=self.bundled)
        return export_checkpoint(source, format, target, options=options, verify_images=verify_images)

    def inspect(self, image: PictureSource) -> Figure:
        """A picture of what the network does with ``image``: the input, every layer's maps, the class scores
        (``lenet inspect``)."""
        from ..evaluation._drawing import image_figure
        from ..evaluation.pictures import inspection_sheet

        return image_figure(inspection_sheet(self.inspection(image)))

    def inspection(self, image: PictureSource) -> Inspection:
        """The numbers ``inspect`` draws: each layer's activations, the scores and the prediction."""
        from ..inference.inspection import inspect_prepared
        from ..inference.loading import require_lenet_checkpoint

        require_lenet_checkpoint(self.path, "inspect (to see inside the layers)")
        found, single = pictures(image)
        if not single:
            raise UsageError("inspect looks at one picture at a time; give one file or image")
        path, data = found[0]
        predictor = self._loaded_file()
        return inspect_prepared(predictor, predictor.prepare(path, data=data), str(path))  # type: ignore[arg-type]

    def summary(self) -> Summary:
        """The network's layers: output shapes, parameters and connections, and their totals."""
        from ..models import get_model
        from ..models.summary import summarize

        metadata = self.predictor.metadata
        norm = metadata["normalization"]
        shape = (int(norm["channels"]), int(norm["input_size"]), int(norm["input_size"]))
        return summarize(get_model(self.name, **metadata["model_args"]), shape, name=self.name)


def _readable(answer: Any) -> Any:
    """The answer, unless its file could not be read as an image (then DataFormatError, exit 65)."""
    from ..inference.predictor import Unreadable

    if isinstance(answer, Unreadable):
        raise DataFormatError(answer.message)
    return answer


class PredictionList(list):  # type: ignore[type-arg]
    """The answers for several pictures, in order; a notebook shows them as one table."""

    def _repr_html_(self) -> str:
        from ..display import image_html, percent, table_html

        if not all(hasattr(item, "topk") for item in self):  # numbers read: each shows itself
            return "".join(item._repr_html_() for item in self)
        rows = [(image_html(p.input, 42) if p.input is not None else "", p.path,
                 p.class_name if p.reason is None else "no digit", percent(p.probability),
                 p.reason or ", ".join(f"{name} {percent(q, 1)}" for name, q in p.topk)) for p in self]
        return table_html(["input", "path", "class", "probability", "top-k"], rows, numeric=[3], raw=[0])


# The largest input `lenet summary` builds a network for: far beyond any MNIST-like data, and built in a moment.
MAX_CHANNELS, MAX_SIDE, MAX_CLASSES = 64, 1024, 100_000


def summary(model: str = "lenet5", *, input_size: tuple[int, int, int] | None = None,
            num_classes: int | None = None, paper: bool = False) -> Summary:
    """The layer table of a registered model (``lenet summary``) for ``input_size`` (channels, height, width;
    square) and ``num_classes`` (default: the model's own); ``paper`` sets each layer beside the 1998 paper's
    figures (``Summary.paper``)."""
    from ..models import get_model, get_model_spec, list_models
    from ..models.summary import compare_with_paper, summarize

    spec = get_model_spec(model)
    if paper and spec.paper is None:
        with_figures = ", ".join(n for n in list_models() if get_model_spec(n).paper)
        raise UsageError(f"The paper gives no figures for {model}; --paper works with: {with_figures}")
    if paper and (input_size or num_classes):
        raise UsageError("--paper compares the paper's own configuration; drop --input-size and --num-classes")
    channels, height, width = input_size or spec.input_shape
    if height != width:
        raise UsageError(f"--input-size needs square images, got {height}x{width}")
    require_in_range("--input-size channels", channels, 1, MAX_CHANNELS, integer=True)
    require_in_range("--input-size side", height, 1, MAX_SIDE, integer=True)
    require_in_range("--num-classes", num_classes, 1, MAX_CLASSES, integer=True)
    try:
        network = get_model(model, in_channels=channels, num_classes=num_classes, input_size=height)
    except ValueError as exc:  # e.g. an input too small for the network
        raise UsageError(str(exc)) from None
    report = summarize(network, (channels, height, width), name=model)
    if paper:
        report.paper = compare_with_paper(report, spec.paper)
    return report
