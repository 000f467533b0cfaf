"""Run directories (runs/train/exp, exp2, ...) and the files written into them."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from ..errors import LenetError, UsageError
from .checkpoint import atomic_write_bytes

__all__ = ["make_run_dir", "write_text", "write_metrics_csv", "write_json", "METRIC_COLUMNS"]

METRIC_COLUMNS = (
    "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr", "seconds", "images_per_s",
)


def make_run_dir(project: str | Path, name: str | None) -> Path:
    """A new run directory. ``name=None`` picks exp, exp2, ...; an explicit name must not hold a run."""
    project = Path(project)
    try:
        project.mkdir(parents=True, exist_ok=True)
        if name is not None:
            path = project / name
            if (path / "last.pt").exists() or (path / "run.json").exists():
                raise UsageError(f"{path} already holds a run; choose another --name, or continue it with --resume {path / 'last.pt'}")
            path.mkdir(exist_ok=True)
            return path
        taken = {p.name for p in project.iterdir()}
        numbers = [int(m.group(1) or 1) for n in taken if (m := re.fullmatch(r"exp(\d*)", n))]
        index = max(numbers, default=0) + 1
        path = project / ("exp" if index == 1 else f"exp{index}")
        path.mkdir()
        return path
    except OSError as exc:
        raise LenetError(f"Cannot create run directory in {project}: {exc.strerror or exc}") from None


def write_text(path: Path, text: str) -> None:
    try:
        atomic_write_bytes(path, text.encode("utf-8"))
    except OSError as exc:
        raise LenetError(f"Could not write {path}: {exc.strerror or exc}") from None


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_metrics_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """The whole history, rewritten atomically each epoch (a resumed run keeps earlier rows)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in METRIC_COLUMNS})
    write_text(path, buffer.getvalue())
