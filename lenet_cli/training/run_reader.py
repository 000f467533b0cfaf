"""Run directories read back (no torch): `lenet runs` from each run.json, damaged ones included; `lenet plot`'s
histories from metrics.csv. ``run_writer`` writes them."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import stat
import time
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import DataFormatError, InputNotFound, from_os_error
from ..files import note_input
from .config import TrainConfig
from .run_writer import METRIC_COLUMNS

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so a run in progress reads as incomplete
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunSummary", "list_runs", "read_run", "read_metrics_csv", "read_run_loss", "SORT_KEYS", "STATUSES"]

# The statuses a run.json records; the listing adds running, incomplete and damaged.
_RECORDED = ("completed", "early_stopped", "interrupted", "diverged", "pruned")
STATUSES = (*_RECORDED, "running", "incomplete", "damaged")
# Options that are columns of their own, or that say where and how fast, not what was trained.
_NOT_RECIPE = {"dataset", "model", "epochs", "project", "name", "seed", "data_dir", "offline", "threads", "device",
               "fail_under", "compile"}
_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}
# Hints of the options the listing shows, to type-check what a run.json says they were.
_HINTS = typing.get_type_hints(TrainConfig)
# lenet writes a few kilobytes of run.json and a short row per epoch; far more than that is not its file, and
# reading it whole could exhaust memory.
_MAX_RECORD_BYTES = 4 << 20
_MAX_METRICS_BYTES = 16 << 20
_MAX_EPOCHS = 100_000  # the largest epoch number, epoch count or row count read back
# Training computes in float32 at most: a finite number beyond its range (about 3.4e38) was not written by lenet,
# and one near float64's limit would overflow the chart's axis arithmetic.
_LARGEST = 3.5e38
_EPOCH = re.compile(r"[0-9]{1,6}")  # a plain whole number: no sign, exponent, underscore or space
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
    """What run.json says about the run in ``path``; never raises for a damaged or partial directory.

    A run.json that cannot be read, or holds a value of the wrong type, lists the run as damaged with
    the reason in ``problem``; the values that could be read are kept, the others are None.
    """
    record_path = path / "run.json"
    running = _locked(path / ".lock")
    date = _date(record_path if os.path.lexists(record_path) else path)
    if not os.path.lexists(record_path):
        return RunSummary(path.name, str(path), "running" if running else "incomplete", date=date)
    try:
        record = _load_record(record_path)
    except (OSError, _Damaged) as exc:
        return RunSummary(path.name, str(path), "damaged", date=date, problem=f"run.json: {_reason(exc)}")
    summary = _from_record(path, record, date)
    if running and summary.status != "damaged":  # resumed, and training again now
        summary.status = "running"
    return summary


class _Damaged(ValueError):
    """A file of a run directory that is not what lenet wrote there; the message says why."""


def _read_capped(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), at most ``limit`` of them.

    Anything else is refused without being opened: a FIFO would block, a device could read forever.
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise _Damaged(f"not a regular file ({_kind(path)})")
    # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening it still returns at once.
    with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise _Damaged(f"not a regular file ({_kind(path)})")
        data = file.read(limit + 1)
    note_input(path)
    if len(data) > limit:
        raise _Damaged(f"larger than {limit >> 20} MiB, more than lenet writes there")
    return data


def _kind(path: Path) -> str:
    """What ``path`` is, in a word, for a message."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "unreadable"
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((word for test, word in kinds if test(mode)), "not a plain file")


def _load_record(path: Path) -> dict[str, Any]:
    """run.json as a dict; _Damaged when it is not one lenet could have written."""
    data = _read_capped(path, _MAX_RECORD_BYTES)
    try:
        record = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise _Damaged("nested too deeply to be a run record") from None
    except ValueError as exc:  # not UTF-8, not JSON, or an integer too long to read
        raise _Damaged(f"not JSON ({_clip(str(exc))})") from None
    if not isinstance(record, dict):
        raise _Damaged(f"not a JSON object but {_shown(record)}")
    return record


def _from_record(path: Path, record: dict[str, Any], date: str) -> RunSummary:
    """The summary of a parsed run.json: each value type-checked; a wrong one is None and makes the run damaged."""
    problems: list[str] = []
    config, result = (_table(record, key, problems) for key in ("config", "result"))
    status = record.get("status")
    if status not in _RECORDED:
        problems.append(f"status is {_shown(status)}, not one of {', '.join(_RECORDED)}" if "status" in record
                        else "no status")
    summary = RunSummary(
        path.name, str(path), status if status in _RECORDED else "damaged",
        model=_checked(config, "config.model", _is_name, problems),
        dataset=_checked(config, "config.dataset", _is_name, problems),
        epochs=_checked(result, "result.epochs", _is_count, problems),
        planned_epochs=_checked(config, "config.epochs", _is_count, problems),
        options=_changed(config, problems),
        best_val_acc=_checked(result, "result.best_val_accuracy", _is_fraction, problems),
        test_acc=_checked(result, "result.test_accuracy", _is_fraction, problems),
        seconds=_checked(result, "result.seconds", _is_seconds, problems), date=date,
    )
    if problems:
        summary.status, summary.problem = "damaged", "run.json: " + "; ".join(problems)
    return summary


def _table(record: dict[str, Any], key: str, problems: list[str]) -> dict[str, Any]:
    """record[key] when it is a JSON object; else {} and a problem."""
    value = record.get(key)
    if isinstance(value, dict):
        return value
    problems.append(f"{key} is {_shown(value)}, not an object" if key in record else f"no {key}")
    return {}


def _checked(table: dict[str, Any], where: str, expected: tuple[Any, str], problems: list[str]) -> Any:
    """table's value at the last part of ``where`` if it passes ``expected`` (test, words) or is absent or null."""
    test, words = expected
    value = table.get(where.rpartition(".")[2])
    if value is None or test(value):
        return value
    problems.append(f"{where} is {_shown(value)}, not {words}")
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_is_name = (lambda value: isinstance(value, str), "a name")
_is_count = (lambda value: isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_EPOCHS,
             f"a whole number from 0 to {_MAX_EPOCHS}")
_is_fraction = (lambda value: _is_number(value) and 0 <= value <= 1, "a fraction from 0 to 1")
_is_seconds = (lambda value: _is_number(value) and value >= 0, "a number of seconds")


def _changed(config: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """The recipe options a run set to something other than today's defaults (a value of the wrong type: a problem)."""
    changed = {}
    for key, value in config.items():
        if key not in _DEFAULTS or key in _NOT_RECIPE:
            continue
        if not _fits(value, _HINTS[key]):
            problems.append(f"config.{key} is {_shown(value)}, not a value --{key.replace('_', '-')} takes")
        elif value != _DEFAULTS[key]:
            changed[key] = value
    return changed


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the type of an option with type ``hint`` (an int is fine where a float is)."""
    kinds = set(typing.get_args(hint)) or {hint}
    if value is None:
        return type(None) in kinds
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int):
        return bool(kinds & {int, float})
    if isinstance(value, float):
        return float in kinds and math.isfinite(value)
    return isinstance(value, str) and str in kinds


def _shown(value: Any) -> str:
    """A value from a damaged file, short enough for one line of a table."""
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else f"a list of {len(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return _clip(json.dumps(value) if isinstance(value, str) else repr(value))


def _clip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())  # one line, whatever the file held
    return text if len(text) <= width else text[: width - 3] + "..."


def _reason(exc: Exception) -> str:
    if isinstance(exc, _Damaged):
        return str(exc)
    return _clip(f"{exc.strerror or type(exc).__name__}" if isinstance(exc, OSError) else str(exc))


def _locked(lock: Path) -> bool:
    """True while a `lenet train` process holds the run directory's lock."""
    if fcntl is None:
        return False
    try:
        if not stat.S_ISREG(os.stat(lock).st_mode):  # a FIFO would block the open: it is no lock of ours anyway
            return False
        fd = os.open(lock, os.O_RDONLY | os.O_NONBLOCK)
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

    A missing run or file is exit 66; a file that is not lenet's metrics.csv is exit 65: not a regular
    file, too large, or an epoch that is not a plain whole number. Non-finite numbers are kept (a
    diverged run's loss is NaN); the charts leave such points out, as they do empty cells.
    """
    path = run_dir / "metrics.csv" if run_dir.is_dir() else run_dir
    if not os.path.exists(path):
        raise InputNotFound(f"{run_dir}: no run there (no metrics.csv); give a run directory such as runs/train/exp")
    try:
        text = _read_capped(path, _MAX_METRICS_BYTES).decode("utf-8")
        history = [{key: _number(key, row.get(key)) for key in METRIC_COLUMNS} for row in _rows(text)]
    except (ValueError, csv.Error) as exc:  # _Damaged and UnicodeDecodeError are ValueErrors
        raise DataFormatError(f"{path}: not a metrics.csv written by lenet train ({_clip(str(exc), 200)})") \
            from None
    except OSError as exc:
        raise from_os_error(exc, f"Cannot read {path}") from None
    if not history:
        raise DataFormatError(f"{path}: no epoch recorded yet")
    return history


def _rows(text: str) -> list[dict[str, str | None]]:
    """The rows of a metrics.csv, no more than a run could have written."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        if len(rows) == _MAX_EPOCHS:
            raise _Damaged(f"more than {_MAX_EPOCHS} rows")
        rows.append(row)
    return rows


def read_run_loss(run_dir: Path) -> str:
    """The loss a run trained with, from its run.json ("loss" when the file is missing, damaged or older)."""
    try:
        loss = _load_record(run_dir / "run.json").get("loss")
    except (OSError, _Damaged):
        return "loss"
    return loss if isinstance(loss, str) else "loss"


def _number(key: str, text: str | None) -> float | int | None:
    """One cell of metrics.csv; a missing epoch, or one that is not a plain whole number, is an error;
    any other missing value is None. NaN and infinities are kept; a finite number no run could write is an error."""
    if text in (None, ""):
        if key == "epoch":
            raise ValueError("a row without an epoch")
        return None
    if key == "epoch":
        if not _EPOCH.fullmatch(text) or int(text) > _MAX_EPOCHS:
            raise ValueError(f"epoch {_clip(text, 20)!r} is not a whole number from 0 to {_MAX_EPOCHS}")
        return int(text)
    value = float(text)
    if key.endswith("_acc") and math.isfinite(value) and not 0 <= value <= 1:
        raise ValueError(f"{key} {_clip(text, 20)} is not a fraction from 0 to 1")
    if abs(value) > _LARGEST and math.isfinite(value):
        raise ValueError(f"{key} {_clip(text, 20)} is larger than any value training computes")
    return value
