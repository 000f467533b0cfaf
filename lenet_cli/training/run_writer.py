"""Run directories (runs/train/exp, exp2, ...): made, locked, and the records written into them.

``run_reader`` reads them back."""

from __future__ import annotations

import csv
import io
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..files import sha256_file, write_json, write_text
from ..errors import UsageError, from_os_error

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are still numbered apart
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunLock", "TrainResult", "make_run_dir", "lock_run_dir", "write_metrics_csv", "write_run_record",
           "METRIC_COLUMNS"]

METRIC_COLUMNS = (
    "epoch", "train_loss", "train_acc", "train_objective", "val_loss", "val_acc", "test_loss", "test_acc", "lr",
    "seconds", "images_per_s",
)


@dataclass
class TrainResult:
    """What a training run came to: the run.json "result" (``to_dict``), the checkpoints written, the history."""

    status: str  # completed | early_stopped | interrupted | diverged
    run_dir: Path
    epochs: int  # epochs completed
    seed: int
    test_accuracy: float | None = None  # after the last completed epoch
    test_loss: float | None = None
    best_epoch: int | None = None  # chosen on the validation split; None without one
    best_val_accuracy: float | None = None
    best_test_accuracy: float | None = None  # of the best epoch, for the record (the test split never chooses)
    best_checkpoint: Path | None = None  # only files that were actually written
    last_checkpoint: Path | None = None
    seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    is_main: bool = True  # False on the non-zero ranks of a distributed run, which print nothing

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "best_epoch": self.best_epoch,
            "best_val_accuracy": self.best_val_accuracy,
            "best_test_accuracy": self.best_test_accuracy,
            "best_checkpoint": str(self.best_checkpoint) if self.best_checkpoint else None,
            "last_checkpoint": str(self.last_checkpoint) if self.last_checkpoint else None,
            "run_dir": str(self.run_dir),
            "epochs": self.epochs,
            "seed": self.seed,
            "seconds": round(self.seconds, 3),
        }


class RunLock:
    """An advisory lock on a run directory (``.lock``), held while a process trains in it.

    The operating system releases it when the process ends, however it ends, so a run
    killed before its first checkpoint does not block its name for ever. Where ``fcntl``
    does not exist (Windows) the lock always succeeds.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / ".lock"
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o666)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def make_run_dir(project: str | Path, name: str | None) -> tuple[Path, RunLock]:
    """Claim a new run directory, atomically: two runs started at once never share one.

    ``name=None`` picks exp, exp2, ... (the next free number; a number another run takes
    first is skipped). A named directory is refused (exit 2) while another process trains
    in it or once it holds a run. The caller releases the returned lock when training ends.
    """
    project = Path(project)
    try:
        project.mkdir(parents=True, exist_ok=True)
        path = project / name if name is not None else _new_numbered(project)
        path.mkdir(exist_ok=True)
        return path, lock_run_dir(path, new=True)
    except OSError as exc:
        raise from_os_error(exc, f"Cannot create run directory in {project}") from None


def lock_run_dir(path: Path, *, new: bool) -> RunLock:
    """The run directory's lock; a usage error when another process trains there (or, if ``new``, it holds a run)."""
    lock = RunLock(path)
    if not lock.acquire():
        raise UsageError(f"{path} is in use by another lenet train process; wait for it, or choose another --name")
    if new and ((path / "last.pt").exists() or (path / "run.json").exists()):
        lock.release()
        raise UsageError(f"{path} already holds a run; choose another --name, or continue it with --resume "
                         f"{path / 'last.pt'}")
    return lock


def _new_numbered(project: Path) -> Path:
    """exp, exp2, ...: the directory after the highest number, created here so no other run takes it."""
    numbers = [int(m.group(1) or 1) for p in project.iterdir() if (m := re.fullmatch(r"exp(\d*)", p.name))]
    index = max(numbers, default=0) + 1
    while True:
        path = project / ("exp" if index == 1 else f"exp{index}")
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another run started at the same moment took it
            index += 1


def write_metrics_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """The whole history, rewritten atomically each epoch (a resumed run keeps earlier rows)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in METRIC_COLUMNS})
    write_text(path, buffer.getvalue())


def versions() -> dict[str, str]:
    """The versions a run depends on, for the record (torchvision's from its metadata: importing it is slow)."""
    from importlib import metadata

    import torch

    try:
        torchvision = metadata.version("torchvision")
    except metadata.PackageNotFoundError:
        torchvision = "not installed"
    return {"lenet": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision}


def write_run_record(run_dir: Path, *, status: str, config: dict[str, Any], world_size: int, dataset: dict[str, Any],
                     result: dict[str, Any], checkpoints: list[Path | None], history: list[dict[str, Any]],
                     loss: str, precision: str) -> None:
    """run.json: everything needed to trust and repeat the run (``loss`` and ``precision``: auto resolved)."""
    files = {path.name: sha256_file(path) for path in checkpoints if path is not None and path.exists()}
    write_json(run_dir / "run.json", {
        "status": status,
        "config": config,
        "loss": loss,
        "precision": precision,
        "seed": config["seed"],
        "world_size": world_size,
        "versions": versions(),
        "dataset": dataset,
        "result": result,
        "checkpoint_sha256": files,
        "history": history,
    })
