"""Training progress for ``lenet_cli.train``: a bar in a Jupyter notebook, plain lines in a script's log.

The lines are the ones ``lenet train`` prints (the run's first line, one per epoch); the CLI's live
terminal display (``cli/progress.py``) measures its pace with the same ``Pace``. Both consume the
trainer's events: "start", "step", "evaluate", "epoch", "note" and "warning".
"""

from __future__ import annotations

import html
import sys
import time
from typing import Any, Callable, TextIO

__all__ = ["LineProgress", "NotebookProgress", "Pace", "duration", "epoch_line", "in_notebook", "make_progress",
           "start_line", "step_detail"]


def epoch_line(row: dict[str, Any]) -> str:
    """One epoch's metrics on one line, as the training log shows them."""
    parts = [f"epoch {row['epoch']}/{row['epochs']}", f"train_loss {row['train_loss']:.4f}",
             f"train_acc {row['train_acc']:.4f}"]
    if row.get("val_acc") is not None:
        parts += [f"val_loss {row['val_loss']:.4f}", f"val_acc {row['val_acc']:.4f}"]
    parts += [f"test_loss {row['test_loss']:.4f}", f"test_acc {row['test_acc']:.4f}", f"lr {row['lr']:.2e}",
              f"{row['images_per_s']:.0f} img/s", f"{row['seconds']:.1f}s"]
    return "  ".join(parts)


def start_line(payload: dict[str, Any]) -> str:
    """The run's first line: what trains on what, where, with how many workers, and where the records go."""
    resumed = f", resuming at epoch {payload['start_epoch'] + 1} step {payload['start_step']}" \
        if payload["start_epoch"] or payload["start_step"] else ""
    return (f"training {payload['model']} on {payload['dataset']} ({payload['train_size']} train, "
            f"{payload['val_size']} val, {payload['test_size']} test from {payload['data_source']}) "
            f"on {payload['device']} with {_workers(payload)}, seed {payload['seed']}{resumed}; "
            f"run dir {payload['run_dir']}")


def duration(seconds: float) -> str:
    """A time left as 45s, 3:07 or 1:02:07."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}" if minutes else f"{secs}s"


def _workers(payload: dict[str, Any]) -> str:
    threads = f"{payload['threads']} thread{'s' if payload['threads'] != 1 else ''}"
    world = payload.get("world_size", 1)
    workers = f"{world} processes x {threads}" if world > 1 else threads
    precision = payload.get("precision", "none")
    return workers if precision == "none" else f"{workers} ({precision} autocast)"


class Pace:
    """Steps per second in the current epoch, and from it the time left in the epoch and the run."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.epochs = self.steps = 1
        self.images_per_step = 0.0
        self.epoch_t0 = clock()
        self.first_step = 0
        self.eval_seconds = 0.0  # the last end-of-epoch evaluation, counted into the run's time left
        self.eval_t0: float | None = None

    def start(self, payload: dict[str, Any]) -> None:
        self.epochs, self.steps = payload["epochs"], max(1, payload["steps_per_epoch"])
        self.images_per_step = payload["train_size"] / self.steps
        self.epoch_t0, self.first_step = self.clock(), payload["start_step"]

    def evaluating(self) -> None:
        self.eval_t0 = self.clock()

    def epoch_done(self) -> None:
        if self.eval_t0 is not None:
            self.eval_seconds = self.clock() - self.eval_t0
        self.epoch_t0, self.first_step, self.eval_t0 = self.clock(), 0, None

    def measure(self, epoch: int, step: int) -> tuple[float, float, float]:
        """(images/s, seconds left in the epoch, seconds left in the run) after ``step`` of ``epoch``."""
        elapsed = max(self.clock() - self.epoch_t0, 1e-6)
        steps_per_s = max(step - self.first_step, 1) / elapsed
        epoch_left = (self.steps - step) / steps_per_s
        later_epochs = (self.epochs - epoch) * (self.steps / steps_per_s + self.eval_seconds)
        return steps_per_s * self.images_per_step, epoch_left, epoch_left + self.eval_seconds + later_epochs


def step_detail(pace: Pace, payload: dict[str, Any]) -> str:
    """After a step: steps done, the loss, the speed and the time left in the epoch and the run."""
    speed, epoch_left, run_left = pace.measure(payload["epoch"], payload["step"])
    return (f"{payload['step']}/{payload['steps']}  loss {payload['loss']:.4f}  {speed:,.0f} img/s  "
            f"{duration(epoch_left)} left in epoch, {duration(run_left)} in run")


class LineProgress:
    """A script's log: the run's first line, one line per epoch, notes and warnings, each as it comes."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def handle(self, kind: str, payload: dict[str, Any]) -> None:
        lines = {"start": start_line, "epoch": epoch_line, "note": lambda p: p["message"],
                 "warning": lambda p: f"warning: {p['message']}"}
        if kind in lines:
            print(lines[kind](payload), file=self.stream or sys.stderr, flush=True)


class NotebookProgress(LineProgress):
    """In Jupyter: the lines on the cell's output, and above them a bar for the epoch under way, updated in
    place at most five times a second (an HTML ``<progress>``: no widget library needed)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(sys.stdout)
        self.clock = clock
        self.pace = Pace(clock)
        self.shown = float("-inf")
        self.bar: Any = None  # IPython's DisplayHandle, made at the start

    def handle(self, kind: str, payload: dict[str, Any]) -> None:
        super().handle(kind, payload)
        if kind == "start":
            self.pace.start(payload)
            self._show(f"epoch {payload['start_epoch'] + 1}/{payload['epochs']}", 0, 1, "starting")
        elif kind == "step" and self.clock() - self.shown >= 0.2:
            self._show(f"epoch {payload['epoch']}/{self.pace.epochs}", payload["step"], payload["steps"],
                       step_detail(self.pace, payload))
        elif kind == "evaluate":
            self.pace.evaluating()
            self._show(f"epoch {payload['epoch']}/{payload['epochs']}", 1, 1, "evaluating on validation and test")
        elif kind == "epoch":
            self.pace.epoch_done()
            self._show(f"epoch {payload['epoch']}/{payload['epochs']}", 1, 1,
                       f"done: test accuracy {payload['test_acc']:.2%}")

    def _show(self, title: str, done: int, total: int, detail: str) -> None:
        from IPython.display import HTML, display

        self.shown = self.clock()
        bar = HTML(f'<div style="font-family:monospace"><b>{html.escape(title)}</b> '
                   f'<progress value="{done}" max="{total}" style="width:20em;vertical-align:middle"></progress> '
                   f"{html.escape(detail)}</div>")
        if self.bar is None:
            self.bar = display(bar, display_id=True)
        else:
            self.bar.update(bar)


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython with a kernel: JupyterLab, VS Code, Colab)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def make_progress(enabled: bool) -> LineProgress | None:
    """The display ``train(progress=...)`` asks for: a bar in a notebook, lines elsewhere, or none."""
    if not enabled:
        return None
    return NotebookProgress() if in_notebook() else LineProgress()
