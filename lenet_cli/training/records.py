"""Run directories (runs/train/exp, exp2, ...) and the records written into them."""

from __future__ import annotations

import csv
import io
import os
import platform
import re
from pathlib import Path
from typing import Any

from .. import __version__
from ..checkpoint import sha256_file, write_json, write_text
from ..errors import LenetError, UsageError

__all__ = ["make_run_dir", "write_metrics_csv", "write_run_record", "METRIC_COLUMNS"]

METRIC_COLUMNS = (
    "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr", "seconds", "images_per_s",
)


def make_run_dir(project: str | Path, name: str | None) -> Path:
    """Claim a new run directory, atomically: two runs started at once never share one.

    ``name=None`` picks exp, exp2, ... (the next free number; a number another run takes
    first is skipped). A named directory is claimed by creating its ``config.toml``
    exclusively, so a second run with the same name is refused (exit 2).
    """
    project = Path(project)
    try:
        project.mkdir(parents=True, exist_ok=True)
        return _claim_named(project / name) if name is not None else _claim_numbered(project)
    except OSError as exc:
        raise LenetError(f"Cannot create run directory in {project}: {exc.strerror or exc}") from None


def _claim_named(path: Path) -> Path:
    taken = UsageError(f"{path} already holds a run; choose another --name, or continue it with --resume "
                       f"{path / 'last.pt'}")
    if (path / "last.pt").exists() or (path / "run.json").exists():
        raise taken
    path.mkdir(exist_ok=True)
    try:
        os.close(os.open(path / "config.toml", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except FileExistsError:
        raise taken from None
    return path


def _claim_numbered(project: Path) -> Path:
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
    """The versions a run depends on, for the record."""
    import torch
    import torchvision

    return {"lenet": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__}


def write_run_record(run_dir: Path, *, status: str, config: dict[str, Any], world_size: int, dataset: dict[str, Any],
                     result: dict[str, Any], checkpoints: list[Path | None], history: list[dict[str, Any]]) -> None:
    """run.json: everything needed to trust and repeat the run."""
    files = {path.name: sha256_file(path) for path in checkpoints if path is not None and path.exists()}
    write_json(run_dir / "run.json", {
        "status": status,
        "config": config,
        "seed": config["seed"],
        "world_size": world_size,
        "versions": versions(),
        "dataset": dataset,
        "result": result,
        "checkpoint_sha256": files,
        "history": history,
    })
