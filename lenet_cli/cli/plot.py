"""``lenet plot``: several runs' curves on one chart, to compare recipes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from .console import err, print_json
from .options import JsonOption


def plot_command(
    runs: Annotated[list[Path], typer.Argument(help="Run directories (e.g. runs/train/exp runs/train/exp2).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="The PNG to write.")] = Path("runs.png"),
    title: Annotated[Optional[str], typer.Option(help="Chart title (default: how many runs).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Draw the loss and accuracy curves of one or more runs on one chart (read from each metrics.csv)."""
    from ..evaluation.curves import draw_curves, draw_runs
    from ..training.run_reader import read_metrics_csv, read_run_loss

    if out_path.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file, not {out_path}")
    labels = run_labels(runs)
    histories = [read_metrics_csv(run) for run in runs]
    losses = {read_run_loss(run) for run in runs}
    loss = losses.pop() if len(losses) == 1 else "loss"
    if not out_path.parent.is_dir():
        raise UsageError(f"Cannot write {out_path}: directory {out_path.parent} does not exist")
    if len(runs) == 1:  # one run: its own curves, with train, validation and test in their colours
        draw_curves(histories[0], out_path, title or labels[0], loss)
    else:
        draw_runs(zip(labels, histories), out_path, title or "", loss)
    if as_json:
        print_json({"figure": str(out_path), "runs": [{"run": str(run), "label": label, "epochs": len(history)}
                                                       for run, label, history in zip(runs, labels, histories)]})
    else:
        err().print(f"wrote {out_path}", markup=False, highlight=False)


def run_labels(runs: list[Path]) -> list[str]:
    """Each run's directory name; parent/name where two runs share a name (runs/a/exp and runs/b/exp)."""
    # abspath, not resolve: a run is named as given (a symlink by its own name), and a symlink loop cannot fail it
    paths = [Path(os.path.abspath(run)) for run in runs]
    names = [path.name for path in paths]
    return [f"{path.parent.name}/{name}" if names.count(name) > 1 else name for path, name in zip(paths, names)]
