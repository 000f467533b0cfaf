"""``lenet benchmark``: one checkpoint in every runtime, PyTorch and each export format, timed and scored.

Each format is exported into a temporary directory by the same verified path as ``lenet
export``, read back the way its consumers read it, then timed at each batch size on real
test images already prepared as model input (the model alone: no image decoding) and
scored on the whole test split of the checkpoint's dataset. A format whose packages are
missing is reported as skipped, with the install command, not as a failure.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..checkpoint import build_model, load_checkpoint
from ..data.preprocess import Normalization, to_model_input
from ..errors import LenetError, UsageError, did_you_mean
from .registry import get_format, list_formats, torch_runner

__all__ = ["BenchmarkRow", "benchmark", "RUNTIMES", "DEFAULT_BATCHES"]

DEFAULT_BATCHES = (1, 64)
RUNTIMES = ("pytorch", *list_formats())  # the checkpoint itself, then every export format
_WARM_UP_BATCHES = 3

Runner = Callable[[np.ndarray], np.ndarray]


@dataclass
class BenchmarkRow:
    format: str  # "pytorch" (the checkpoint) or an export format's name
    runtime: str  # what ran it
    batch: int
    status: str  # ok | skipped | failed
    ms_per_image: float | None = None
    images_per_s: float | None = None
    test_accuracy: float | None = None  # on the whole test split, the same for every batch size
    note: str = ""  # why skipped or failed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def benchmark(checkpoint_path: Path, formats: list[str] | None = None, batches: tuple[int, ...] = DEFAULT_BATCHES,
              timed_images: int = 1024, data_dir: str | None = None,
              on_row: Callable[[BenchmarkRow], None] | None = None) -> tuple[list[BenchmarkRow], dict[str, Any]]:
    """Rows for each format x batch, and what was measured on (dataset, image counts, threads)."""
    formats = list(formats or RUNTIMES)
    unknown = [f for f in formats if f not in RUNTIMES]
    if unknown:
        raise UsageError(f"--format must be among {', '.join(RUNTIMES)}, not {unknown[0]!r}"
                         f"{did_you_mean(unknown[0], RUNTIMES)}")
    checkpoint = load_checkpoint(checkpoint_path)
    model = build_model(checkpoint, checkpoint_path).eval()
    x, labels, source = _test_inputs(checkpoint, data_dir)
    timed = x[: max(max(batches), min(timed_images, len(x)))]
    rows: list[BenchmarkRow] = []
    with tempfile.TemporaryDirectory(prefix="lenet-benchmark-") as scratch:
        for name in formats:
            for row in _measure_format(name, checkpoint_path, model, Path(scratch), x, labels, timed, batches):
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    context = {"checkpoint": str(checkpoint_path), "model": checkpoint["model"], "dataset": checkpoint.get("dataset"),
               "data_source": source,
               "test_images": int(len(x)), "timed_images": int(len(timed)), "torch_threads": torch.get_num_threads()}
    return rows, context


def _test_inputs(checkpoint: dict[str, Any], data_dir: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The checkpoint's whole test split as float32 model input, its labels, and where they were read."""
    from ..data import get_dataset

    name = checkpoint.get("dataset") or "mnist"
    data = get_dataset(name, "test", data_dir=data_dir, offline=True)
    x = to_model_input(data.images, Normalization.from_dict(checkpoint["normalization"]))
    return x.numpy(), data.labels.numpy(), data.source


def _measure_format(name: str, checkpoint_path: Path, model: torch.nn.Module, scratch: Path, x: np.ndarray,
                    labels: np.ndarray, timed: np.ndarray, batches: tuple[int, ...]) -> list[BenchmarkRow]:
    """The rows of one format: each batch timed, the accuracy once; skipped or failed rows say why."""
    runtime = "PyTorch" if name == "pytorch" else get_format(name).runtime
    missing = _missing_packages(name)
    if missing:
        note = f"needs {', '.join(missing)}: {get_format(name).needs}"
        return [BenchmarkRow(name, runtime, batch, "skipped", note=note) for batch in batches]
    try:
        run = _runner(name, checkpoint_path, model, scratch)
        accuracy = float((_scores(run, x, max(batches)).argmax(1) == labels).mean())
        return [BenchmarkRow(name, runtime, batch, "ok", *_timing(run, timed, batch), accuracy) for batch in batches]
    except LenetError as exc:
        return [BenchmarkRow(name, runtime, batch, "failed", note=str(exc)) for batch in batches]


def _missing_packages(name: str) -> list[str]:
    needed = () if name == "pytorch" else get_format(name).requires
    return [package for package in needed if importlib.util.find_spec(package) is None]


def _runner(name: str, checkpoint_path: Path, model: torch.nn.Module, scratch: Path) -> Runner:
    """The model as the format's consumers run it; "pytorch" is the checkpoint's own model."""
    if name == "pytorch":
        return torch_runner(model)
    from .exporter import export_checkpoint

    export_format = get_format(name)
    result = export_checkpoint(checkpoint_path, name, scratch / f"model{export_format.suffix}")
    return export_format.load(result.path).run


def _scores(run: Runner, x: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate([run(x[k : k + batch]) for k in range(0, len(x), batch)])


def _timing(run: Runner, x: np.ndarray, batch: int) -> tuple[float, float]:
    """Milliseconds per image and images per second over ``x`` in batches of ``batch`` (after a warm-up)."""
    usable = len(x) - len(x) % batch
    chunks = [x[k : k + batch] for k in range(0, usable, batch)]
    for chunk in chunks[:_WARM_UP_BATCHES]:
        run(chunk)
    start = time.perf_counter()
    for chunk in chunks:
        run(chunk)
    seconds = time.perf_counter() - start
    return round(seconds / usable * 1000, 4), round(usable / seconds, 1)
