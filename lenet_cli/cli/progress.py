"""Training progress on stderr: a live Rich display on a terminal; plain lines in logs.

On a terminal: epoch N/M, a bar (a spinner while the epoch's validation and test passes
run), steps, the current loss, images/s, and the time left in the epoch and in the run.
Not on a terminal (CI logs): no bar characters; one line per epoch, and between them a
heartbeat line at most every ``heartbeat_s`` seconds, so a slow job is never silent.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn

from .console import err

__all__ = ["TrainProgress", "epoch_line", "duration"]


def epoch_line(row: dict[str, Any]) -> str:
    parts = [f"epoch {row['epoch']}/{row['epochs']}", f"train_loss {row['train_loss']:.4f}",
             f"train_acc {row['train_acc']:.4f}"]
    if row.get("val_acc") is not None:
        parts += [f"val_loss {row['val_loss']:.4f}", f"val_acc {row['val_acc']:.4f}"]
    parts += [f"test_loss {row['test_loss']:.4f}", f"test_acc {row['test_acc']:.4f}", f"lr {row['lr']:.2e}",
              f"{row['images_per_s']:.0f} img/s", f"{row['seconds']:.1f}s"]
    return "  ".join(parts)


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


class _BarOrSpinner(ProgressColumn):
    """The bar while steps run; a spinner while the end-of-epoch evaluation runs (it has no steps to count)."""

    def __init__(self) -> None:
        super().__init__()
        self.bar, self.spinner = BarColumn(bar_width=32), SpinnerColumn()

    def render(self, task: Any) -> Any:
        return self.spinner.render(task) if task.fields.get("evaluating") else self.bar.render(task)


class _Pace:
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


class TrainProgress:
    """Consumes the trainer's events (see ``training.trainer``) and shows them on stderr."""

    def __init__(self, enabled: bool = True, live: bool | None = None, heartbeat_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self.live = enabled and (sys.stderr.isatty() if live is None else live)
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.console = err()
        self.pace = _Pace(clock)
        self.last_line = clock()  # when a plain line was last printed
        self.last_shown = float("-inf")  # when the live display was last updated
        self.display: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> "TrainProgress":
        if self.live:
            self.display = Progress(
                TextColumn("[bold]{task.description}"), _BarOrSpinner(), TextColumn("{task.fields[detail]}"),
                console=self.console, transient=True,
            )
            self.display.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.display is not None:
            self.display.__exit__(None, None, None)

    def handle(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "warning":
            self.console.print(f"warning: {payload['message']}", style="yellow", markup=False)
        elif self.enabled:
            getattr(self, f"_on_{kind}", self._print)(payload)

    def _print(self, payload: dict[str, Any]) -> None:
        """A note: one plain line of information."""
        self._line(payload["message"])

    def _line(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)
        self.last_line = self.clock()

    def _on_start(self, payload: dict[str, Any]) -> None:
        self.pace.start(payload)
        resumed = f", resuming at epoch {payload['start_epoch'] + 1} step {payload['start_step']}" \
            if payload["start_epoch"] or payload["start_step"] else ""
        self._line(f"training {payload['model']} on {payload['dataset']} ({payload['train_size']} train, "
                   f"{payload['val_size']} val, {payload['test_size']} test from {payload['data_source']}) "
                   f"on {payload['device']} with {_workers(payload)}, seed {payload['seed']}{resumed}; "
                   f"run dir {payload['run_dir']}")

    def _on_step(self, payload: dict[str, Any]) -> None:
        """Called after every training step: measured and formatted only when something will be shown (the live
        display at most 10 times a second, a heartbeat when due), so the step loop pays nothing otherwise."""
        now = self.clock()
        due = now - self.last_shown >= 0.1 if self.display is not None else now - self.last_line >= self.heartbeat_s
        if not due:
            return
        self.last_shown = now
        epoch, step, steps = payload["epoch"], payload["step"], payload["steps"]
        speed, epoch_left, run_left = self.pace.measure(epoch, step)
        detail = (f"{step}/{steps}  loss {payload['loss']:.4f}  {speed:,.0f} img/s  "
                  f"{duration(epoch_left)} left in epoch, {duration(run_left)} in run")
        if self.display is not None:
            self._show(f"epoch {epoch}/{self.pace.epochs}", detail, completed=step, total=steps)
        else:
            self._line(f"epoch {epoch}/{self.pace.epochs}  step {detail}")

    def _on_evaluate(self, payload: dict[str, Any]) -> None:
        self.pace.evaluating()
        if self.display is not None:
            self._show(f"epoch {payload['epoch']}/{payload['epochs']}", "evaluating on validation and test",
                       evaluating=True)

    def _on_epoch(self, payload: dict[str, Any]) -> None:
        self.pace.epoch_done()
        if self.display is not None and self.task is not None:
            self.display.remove_task(self.task)
            self.task = None
        self._line(epoch_line(payload))

    def _show(self, description: str, detail: str, **fields: Any) -> None:
        """Update the live display's one task (created on first use)."""
        assert self.display is not None
        fields.setdefault("evaluating", False)
        if self.task is None:
            self.task = self.display.add_task(description, total=fields.pop("total", None), detail=detail, **fields)
        else:
            self.display.update(self.task, description=description, detail=detail, **fields)
