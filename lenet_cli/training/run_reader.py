"""Run directories read back (no torch): `lenet runs` from each run.json, damaged ones included; `lenet plot`'s
histories from metrics.csv. ``run_writer`` writes them."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import DataFormatError, InputNotFound, from_os_error
from .config import TrainConfig
from .run_writer import METRIC_COLUMNS

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so a run in progress reads as incomplete
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunSummary", "list_runs", "read_run", "read_metrics_csv", "read_run_loss", "SORT_KEYS", "STATUSES"]

STATUSES = ("completed", "early_stopped", "interrupted", "diverged", "pruned", "running", "incomplete", "damaged")
# Options that are columns of their own, or that say where and how fast, not what was trained.
_NOT_RECIPE = {"dataset", "model", "epochs", "project", "name", "seed", "data_dir", "offline", "threads", "device",
               "fail_under", "compile"}
_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}
# --sort key -> (value to sort by, largest first?)
SORT_KEYS = {"date": ("date", False), "name": ("name", False), "test_acc": ("test_acc", True),
             "val_acc": ("best_val_acc", True), "time": ("seconds", True), "epochs": ("epochs", True)}


@dataclass
class RunSummary:
    """One run directory as `lenet runs` lists it; values a damaged or unfinished run lacks are None."""

    name: str
    path: str
    status: str  # one of STATUSES
    model: str | None = None
    dataset: str | None = None
    epochs: int | None = None  # completed
    planned_epochs: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # recipe options that differ from the defaults
    best_val_acc: float | None = None
    test_acc: float | None = None  # after the last completed epoch
    seconds: float | None = None
    date: str = ""  # when run.json (or the directory) was last written, local time
    problem: str | None = None  # why a run is listed as damaged

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_runs(project: Path) -> list[RunSummary]:
    """Every run directory directly under ``project`` (a directory holding run.json, a checkpoint or a lock)."""
    if not project.is_dir():
        return []
    marks = ("run.json", "last.pt", "best.pt", ".lock", "metrics.csv")
    return [read_run(d) for d in sorted(project.iterdir()) if d.is_dir() and any((d / m).exists() for m in marks)]


def read_run(path: Path) -> RunSummary:
    """What run.json says about the run in ``path``; never raises for a damaged or partial directory."""
    record_path = path / "run.json"
    running = _locked(path / ".lock")
    date = _date(record_path if record_path.exists() else path)
    if not record_path.exists():
        return RunSummary(path.name, str(path), "running" if running else "incomplete", date=date)
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        summary = _from_record(path, record, date)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        return RunSummary(path.name, str(path), "damaged", date=date, problem=f"run.json: {type(exc).__name__}: {exc}")
    if running:  # resumed, and training again now
        summary.status = "running"
    return summary


def _from_record(path: Path, record: dict[str, Any], date: str) -> RunSummary:
    config, result = record["config"], record["result"]
    return RunSummary(
        path.name, str(path), str(record["status"]), model=config.get("model"), dataset=config.get("dataset"),
        epochs=result.get("epochs"), planned_epochs=config.get("epochs"), options=_changed(config),
        best_val_acc=result.get("best_val_accuracy"), test_acc=result.get("test_accuracy"),
        seconds=result.get("seconds"), date=date,
    )


def _changed(config: dict[str, Any]) -> dict[str, Any]:
    """The recipe options a run set to something other than today's defaults."""
    return {key: value for key, value in config.items()
            if key in _DEFAULTS and key not in _NOT_RECIPE and value != _DEFAULTS[key]}


def _locked(lock: Path) -> bool:
    """True while a `lenet train` process holds the run directory's lock."""
    if fcntl is None or not lock.exists():
        return False
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)  # closing also drops the shared lock taken to test


def _date(path: Path) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
    except OSError:
        return ""


def read_metrics_csv(run_dir: Path) -> list[dict[str, Any]]:
    """A run's history from its metrics.csv: numbers as floats (epoch an int), empty cells as None.

    A missing run or file is exit 66; a file that is not lenet's metrics.csv is exit 65.
    """
    path = run_dir / "metrics.csv" if run_dir.is_dir() else run_dir
    if not path.is_file():
        raise InputNotFound(f"{run_dir}: no run there (no metrics.csv); give a run directory such as runs/train/exp")
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
        history = [{key: _number(key, row.get(key)) for key in METRIC_COLUMNS} for row in rows]
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError(f"{path}: not a metrics.csv written by lenet train ({exc})") from None
    except OSError as exc:
        raise from_os_error(exc, f"Cannot read {path}") from None
    if not history:
        raise DataFormatError(f"{path}: no epoch recorded yet")
    return history


def read_run_loss(run_dir: Path) -> str:
    """The loss a run trained with, from its run.json ("loss" when the file is missing, damaged or older)."""
    try:
        loss = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("loss")
    except (OSError, ValueError, AttributeError):
        return "loss"
    return loss if isinstance(loss, str) else "loss"


def _number(key: str, text: str | None) -> float | int | None:
    """One cell of metrics.csv; a missing epoch is an error, any other missing value is None."""
    if text in (None, ""):
        if key == "epoch":
            raise ValueError("a row without an epoch")
        return None
    return int(text) if key == "epoch" else float(text)
