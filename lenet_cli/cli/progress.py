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

from ..api.progress import Pace, duration, epoch_line, start_line, step_detail
from .console import err

__all__ = ["TrainProgress", "epoch_line", "duration"]


class _BarOrSpinner(ProgressColumn):
    """The bar while steps run; a spinner while the end-of-epoch evaluation runs (it has no steps to count)."""

    def __init__(self) -> None:
        super().__init__()
        self.bar, self.spinner = BarColumn(bar_width=32), SpinnerColumn()

    def render(self, task: Any) -> Any:
        return self.spinner.render(task) if task.fields.get("evaluating") else self.bar.render(task)


class TrainProgress:
    """Consumes the trainer's events (see ``training.trainer``) and shows them on stderr."""

    def __init__(self, enabled: bool = True, live: bool | None = None, heartbeat_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self.live = enabled and (sys.stderr.isatty() if live is None else live)
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.console = err()
        self.pace = Pace(clock)
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
        self._line(start_line(payload))

    def _on_step(self, payload: dict[str, Any]) -> None:
        """Called after every training step: measured and formatted only when something will be shown (the live
        display at most 10 times a second, a heartbeat when due), so the step loop pays nothing otherwise."""
        now = self.clock()
        due = now - self.last_shown >= 0.1 if self.display is not None else now - self.last_line >= self.heartbeat_s
        if not due:
            return
        self.last_shown = now
        epoch, step, steps = payload["epoch"], payload["step"], payload["steps"]
        detail = step_detail(self.pace, payload)
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
