"""Training progress on stderr: a Rich bar on a terminal, one plain line per epoch otherwise."""

from __future__ import annotations

import sys
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .console import err

__all__ = ["TrainProgress"]


def epoch_line(row: dict[str, Any]) -> str:
    parts = [f"epoch {row['epoch']}/{row['epochs']}", f"train_loss {row['train_loss']:.4f}",
             f"train_acc {row['train_acc']:.4f}"]
    if row.get("val_acc") is not None:
        parts += [f"val_loss {row['val_loss']:.4f}", f"val_acc {row['val_acc']:.4f}"]
    parts += [f"test_loss {row['test_loss']:.4f}", f"test_acc {row['test_acc']:.4f}", f"lr {row['lr']:.2e}",
              f"{row['images_per_s']:.0f} img/s", f"{row['seconds']:.1f}s"]
    return "  ".join(parts)


def _workers(payload: dict[str, Any]) -> str:
    threads = f"{payload['threads']} thread{'s' if payload['threads'] != 1 else ''}"
    world = payload.get("world_size", 1)
    return f"{world} processes x {threads}" if world > 1 else threads


class TrainProgress:
    """Consumes the trainer's events."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.console = err()
        self.bar: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> "TrainProgress":
        if self.enabled and sys.stderr.isatty():
            self.bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(), console=self.console, transient=True,
            )
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

    def handle(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "warning":
            self.console.print(f"warning: {payload['message']}", style="yellow", markup=False)
            return
        if not self.enabled:
            return
        if kind == "note":
            self.console.print(payload["message"], markup=False, highlight=False, soft_wrap=True)
            return
        if kind == "start":
            resumed = f", resuming at epoch {payload['start_epoch'] + 1} step {payload['start_step']}" \
                if payload["start_epoch"] or payload["start_step"] else ""
            self.console.print(
                f"training {payload['model']} on {payload['dataset']} ({payload['train_size']} train, "
                f"{payload['val_size']} val, {payload['test_size']} test from {payload['data_source']}) "
                f"on {payload['device']} with {_workers(payload)}, seed {payload['seed']}{resumed}; "
                f"run dir {payload['run_dir']}", markup=False, highlight=False, soft_wrap=True,
            )
        elif kind == "step" and self.bar is not None:
            description = f"epoch {payload['epoch']}"
            if self.task is None:
                self.task = self.bar.add_task(description, total=payload["steps"], loss=payload["loss"])
            self.bar.update(self.task, completed=payload["step"], description=description, loss=payload["loss"])
        elif kind == "epoch":
            if self.bar is not None and self.task is not None:
                self.bar.remove_task(self.task)
                self.task = None
            self.console.print(epoch_line(payload), markup=False, highlight=False, soft_wrap=True)
