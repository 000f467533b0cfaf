"""Predictions for image files: the Predictor base class and what it returns.

This module does not import torch: a backend supplies ``scores``, and the ONNX
backend runs on onnxruntime and NumPy alone, so ``lenet predict --checkpoint
model.onnx`` starts without torch.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Iterator

import numpy as np

from ..data.images import PREPROCESS_MODES, open_image, prepare_none, prepare_resize
from ..data.preprocess import Normalization
from ..errors import DataFormatError, UsageError
from ..reading.prepare import WORKING_SIDE, prepare_mnist
from . import TOPK
from .rows import NumberReading, read_row

__all__ = ["Prediction", "NumberReading", "Preparation", "Predictor", "Unreadable", "PREDICT_BATCH"]

PREDICT_BATCH = 256  # images per forward pass when predicting files
PARALLEL_FROM = 64  # pictures from which preparing them in several processes pays for starting those
STOP_WAIT = 5.0  # seconds a pool of those processes gets to stop on its own before they are killed


@dataclass
class Prediction:
    """The model's answer for one picture; ``reason`` (and no class) when the picture holds no digit."""

    path: str
    label: int | None
    class_name: str | None
    probability: float | None
    topk: list[tuple[str, float]]
    reason: str | None = None

    @classmethod
    def no_digit(cls, path: str, reason: str) -> "Prediction":
        """The answer for a picture without writing: no class, no probability, and why."""
        return cls(path, None, None, None, [], reason)

    def to_dict(self) -> dict[str, Any]:
        row = {"path": self.path, "predicted": self.label, "class_name": self.class_name,
               "probability": self.probability, "topk": [[name, p] for name, p in self.topk],
               "label": self.label}  # "label": the old name of "predicted", kept for one release
        return row if self.reason is None else {**row, "reason": self.reason}

    # --- the Python API: what the model saw, and how a notebook shows the answer ---
    input: np.ndarray | None = field(default=None, repr=False, compare=False)  # uint8 C x H x W, when known

    def _repr_html_(self) -> str:
        from ..display import image_html, percent, table_html

        answer = [("class", "no digit"), ("reason", self.reason)] if self.reason is not None else \
            [("class", self.class_name), ("probability", percent(self.probability)),
             ("top-k", ", ".join(f"{name} {percent(p, 1)}" for name, p in self.topk))]
        table = table_html(["", ""], [("input", self.path), *answer])
        picture = image_html(self.input, title="what the model saw") if self.input is not None else ""
        return f'<div style="display:flex;gap:1em;align-items:center">{picture}{table}</div>'


@dataclass
class Unreadable:
    """An input that could not be read as an image; the others are still predicted."""

    path: str
    message: str


@contextmanager
def _quietly() -> Iterator[None]:
    """No NumPy or Pillow warning while a picture is prepared: an odd picture (NaN pixels, damaged
    metadata) is either read, and then there is nothing to tell, or refused with a DataFormatError."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


@dataclass(frozen=True)
class Preparation:
    """How a picture becomes what the model sees; plain data, so worker processes can do it too."""

    mode: str  # mnist | resize | none
    image_size: tuple[int, int]
    channels: int

    def __call__(self, path: Path, stages: dict | None = None, data: bytes | None = None) -> np.ndarray:
        """The picture as the model sees it; with ``mnist``, ``stages["no_digit"]`` says why when it holds no
        writing (the image is then blank)."""
        with _quietly():
            img = open_image(path, data, self.decoded_side)
            if self.mode == "mnist":
                side = self.image_size[0]
                return prepare_mnist(img, out_size=side, box=max(1, round(side * 20 / 28)), stages=stages)[None]
            if self.mode == "resize":
                return prepare_resize(img, self.image_size, self.channels)
            return prepare_none(img, self.image_size, self.channels, path)

    @property
    def decoded_side(self) -> int | None:
        """The least side a picture must be decoded at: the working size of ``mnist``; three times the
        model's side for ``resize`` (where Pillow's own reducing gap starts); the file's own for ``none``."""
        return {"mnist": WORKING_SIDE, "resize": 3 * max(self.image_size)}.get(self.mode)


class Predictor:
    """A model plus the preprocessing that makes raw images look like its training data.

    Subclasses supply ``scores``; ``metadata`` is a checkpoint or an export's metadata
    (classes, normalization, image_size, model).
    """

    def __init__(self, source: Path, metadata: dict[str, Any], preprocess: str | None = None) -> None:
        self.checkpoint = source
        self.metadata = metadata
        self.model_name: str = metadata["model"]
        self.classes: list[str] = list(metadata["classes"])
        self.norm = Normalization.from_dict(metadata["normalization"])
        native = metadata.get("image_size") or [self.norm.input_size, self.norm.input_size]
        self.image_size = (int(native[0]), int(native[1]))
        self.channels = self.norm.channels
        mnist_like = self.channels == 1
        self.mode = preprocess or ("mnist" if mnist_like else "resize")
        if self.mode not in PREPROCESS_MODES:
            raise UsageError(f"--preprocess must be one of {', '.join(PREPROCESS_MODES)}, not {self.mode!r}")
        if self.mode == "mnist" and not mnist_like:
            raise UsageError(f"--preprocess mnist needs a 1-channel model; this one takes {self.channels} channels")
        self.preparation = Preparation(self.mode, self.image_size, self.channels)

    def prepare(self, path: Path, stages: dict | None = None, data: bytes | None = None) -> np.ndarray:
        """The uint8 C x H x W image the model will see (before normalisation); ``stages`` see mnist mode.

        ``data``: the file's bytes, already read (an upload); ``path`` then only names it."""
        return self.preparation(path, stages, data)

    def read_number(self, path: Path, stages: dict | None = None, data: bytes | None = None,
                    digits: int | None = None) -> NumberReading:
        """The digits written in a row in the picture at ``path`` (or in ``data``, its bytes), left to right;
        ``digits``: how many there are, when that is known (a ZIP code)."""
        if self.mode != "mnist" or len(self.classes) != 10:
            raise UsageError("--number reads handwritten digits; it needs --preprocess mnist and a 1-channel "
                             "model of ten classes")
        with _quietly():
            picture = open_image(path, data, self.preparation.decoded_side)
            return read_row(self, str(path), picture, stages, digits)

    def scores(self, images: np.ndarray) -> np.ndarray:
        """The model's outputs (N x classes) for prepared uint8 N x C x H x W images."""
        raise NotImplementedError

    def predict(self, images: np.ndarray, paths: list[str], topk: int = TOPK,
                no_digit: Iterable[str | None] | None = None) -> list[Prediction]:
        """Predictions for a batch of prepared images (N x C x H x W uint8); where ``no_digit`` gives a reason
        (the preparation found no writing), the answer is no class, with that reason."""
        scores = self.scores(images).astype(np.float64)
        probabilities = np.exp(scores - scores.max(1, keepdims=True))
        probabilities /= probabilities.sum(1, keepdims=True)
        k = max(1, min(topk, len(self.classes)))
        order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        results = []
        reasons = list(no_digit) if no_digit is not None else [None] * len(paths)
        for path, row, idx, reason in zip(paths, probabilities, order, reasons):
            top = [(self.classes[i], float(row[i])) for i in idx]
            results.append(Prediction.no_digit(path, reason) if reason else
                           Prediction(path, int(idx[0]), top[0][0], top[0][1], top))
        return results

    def predict_paths(self, paths: Iterable[Path], topk: int = TOPK, batch: int = PREDICT_BATCH,
                      on_prepared: OnPrepared | None = None, jobs: int | None = None,
                      stages_needed: Collection[str] | None = None) -> Iterator[Prediction | Unreadable]:
        """Predictions for image files in order, ``batch`` at a time; an unreadable file is reported at once.

        ``on_prepared(index, path, image, stages)`` sees each readable image as the model will, and the
        steps that made it (e.g. to save them, or to notice a row of digits); ``stages_needed`` names the
        steps it reads (None: all). ``jobs`` processes prepare the pictures (None: every core when there
        are enough pictures to pay for starting them).
        """
        paths = list(paths)
        workers = min(len(paths), jobs if jobs is not None else _default_workers(len(paths)))
        readable = _each_readable(paths, self.prepare, on_prepared) if workers <= 1 else \
            _each_readable_in_parallel(paths, self.preparation, on_prepared, workers, stages_needed)
        images: list[np.ndarray] = []
        names: list[str] = []
        reasons: list[str | None] = []
        for item in readable:
            if isinstance(item, Unreadable):
                yield item
                continue
            path, image, stages = item
            images.append(image)
            names.append(str(path))
            reasons.append(stages.get("no_digit"))
            if len(images) >= batch:
                yield from self.predict(np.stack(images), names, topk, reasons)
                images, names, reasons = [], [], []
        if images:
            yield from self.predict(np.stack(images), names, topk, reasons)

    def read_numbers(self, paths: Iterable[Path], on_prepared: OnPrepared | None = None,
                     digits: int | None = None) -> Iterator[NumberReading | Unreadable]:
        """``read_number`` for each file in order; an unreadable file is reported, the rest are read.

        ``on_prepared`` sees each picture's digits as the model will (N x C x H x W) and the steps.
        """
        read = functools.partial(self.read_number, digits=digits)
        for item in _each_readable(paths, read, on_prepared,
                                   lambda reading, stages: np.asarray(stages["digits"], np.uint8)):
            yield item if isinstance(item, Unreadable) else item[1]


OnPrepared = Callable[[int, Path, np.ndarray, dict], None]


def _default_workers(pictures: int) -> int:
    """Every core, once there are enough pictures to pay for starting the processes."""
    return (os.cpu_count() or 1) if pictures >= PARALLEL_FROM else 1


def _each_readable_in_parallel(paths: list[Path], preparation: Preparation, on_prepared: OnPrepared | None,
                               workers: int, stages_needed: Collection[str] | None,
                               ) -> Iterator[tuple[Path, np.ndarray, dict] | Unreadable]:
    """``_each_readable`` with the pictures prepared by ``workers`` processes, in order."""
    tasks = ((preparation, path, stages_needed) for path in paths)
    pool = None
    try:
        with _signals_held():
            pool = _start_pool(workers)
        index = 0
        for path, (image, stages, error) in zip(paths, pool.imap(_prepare_in_worker, tasks, chunksize=8)):
            if error is not None:
                yield Unreadable(str(path), error)
                continue
            if on_prepared is not None:
                on_prepared(index, path, image, stages)
            index += 1
            yield path, image, stages
    finally:
        if pool is not None:
            _stop(pool)


def _start_pool(workers: int) -> Any:
    """A pool of ``workers`` processes that leave Ctrl-C to this one.

    The processes come from a fork server, a clean process that never ran onnxruntime's threads
    (forking this one could inherit a held lock), with the preparation code already imported.
    """
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        _start_fork_server()
    else:  # Windows: fresh interpreters
        context = multiprocessing.get_context("spawn")
    return context.Pool(workers, initializer=_worker_signals)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Signals whose handlers may raise (Ctrl-C, SIGTERM, and the alarm an interrupt that came during an
    import waits on) wait until the pool has started, then arrive as usual. Interrupted while it starts,
    the pool could not be stopped, and the fork server would go on starting workers for a process that
    is gone, each printing a traceback."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        yield
        return
    received: list[int] = []
    held = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGALRM") if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, lambda signum, _frame: received.append(signum)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(received):  # each once, in order, to the handlers the command set
            signal.raise_signal(signum)


def _start_fork_server() -> None:
    """Start the fork server (if it is not running) with Ctrl-C blocked. The blocked signal is inherited
    through exec and fork: the server, while it imports, and every worker it forks can never be stopped
    half-way by Ctrl-C and print a traceback; this process takes the signal as soon as the server started."""
    from multiprocessing import forkserver, resource_tracker

    if not hasattr(signal, "pthread_sigmask"):
        return
    resource_tracker.ensure_running()  # first: starting it unblocks Ctrl-C in this thread when it is done
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _worker_signals() -> None:
    """In each worker: Ctrl-C, which a terminal sends to the whole process group, is the parent's to
    answer (it stops the pool). A worker that took it would print its own traceback and could die
    half-way through sending a result, leaving the pool's reader waiting for the rest for ever.
    SIGTERM keeps its default: it is how the parent ends the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop(pool: Any) -> None:
    """End the pool's workers, waiting at most STOP_WAIT for Pool.terminate: it joins the pool's helper
    threads, and one stuck on a half-sent result would hold the command (and a Ctrl-C) open."""
    workers = list(pool._pool)  # noqa: SLF001 - the processes, to kill should terminate not finish
    stopper = threading.Thread(target=pool.terminate, name="pool-stop", daemon=True)
    stopper.start()
    stopper.join(STOP_WAIT)
    for process in workers:
        if process.exitcode is None:
            process.kill()


def _prepare_in_worker(task: tuple[Preparation, Path, Collection[str] | None],
                       ) -> tuple[np.ndarray | None, dict, str | None]:
    """One picture prepared in a worker process: (image, the steps asked for, None) or (None, {}, why not)."""
    preparation, path, stages_needed = task
    stages: dict = {}
    try:
        image = preparation(path, stages)
    except DataFormatError as exc:
        return None, {}, str(exc)
    needed = None if stages_needed is None else {*stages_needed, "no_digit"}  # the answer itself needs "no_digit"
    kept = stages if needed is None else {k: v for k, v in stages.items() if k in needed}
    return image, kept, None


def _each_readable(paths: Iterable[Path], read: Callable[[Path, dict], Any], on_prepared: OnPrepared | None,
                   seen: Callable[[Any, dict], np.ndarray] = lambda result, stages: result,
                   ) -> Iterator[tuple[Path, Any, dict] | Unreadable]:
    """(path, read(path, stages), stages) for each file, or Unreadable; ``on_prepared`` is called with the
    readable ones, numbered from 0, and ``seen(result, stages)``: what the model sees."""
    index = 0
    for path in paths:
        stages: dict = {}
        try:
            result = read(path, stages)
        except DataFormatError as exc:
            yield Unreadable(str(path), str(exc))
            continue
        if on_prepared is not None:
            on_prepared(index, path, seen(result, stages), stages)
        index += 1
        yield path, result, stages
