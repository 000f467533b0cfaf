"""``lenet eval``: honest metrics for a checkpoint on a dataset split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..data.specs import SPLITS
from ..errors import QualityGateFailed, from_os_error
from .console import err, new_table, out, print_json
from .options import (TOPK, CheckpointOption, DataDirOption, DeviceOption, JsonOption, OfflineOption, ProjectOption,
                      TopkOption, complete_datasets, one_of)

PLOT_NAMES = ("confusion.png", "mistakes.png")  # what --plot writes, in this order


def eval_command(
    checkpoint: CheckpointOption = None,
    dataset: Annotated[Optional[str], typer.Option(help="Dataset (default: the one the checkpoint was trained on).",
                                                   autocompletion=complete_datasets)] = None,
    split: Annotated[one_of(SPLITS), typer.Option(help="The split to measure.")] = "test",
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
    topk: TopkOption = TOPK,
    plot: Annotated[Optional[Path], typer.Option(help="Write confusion.png and mistakes.png into this directory.")] = None,
    fail_under: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="Exit 3 if accuracy (0..1) is below.")] = None,
    as_json: JsonOption = False,
    device: DeviceOption = "auto",
    project: ProjectOption = Path("runs/train"),
) -> None:
    """Evaluate a checkpoint: loss, top-1/top-k accuracy, per-class scores, confusion matrix."""
    from ..api.model import load

    result = load(checkpoint, device=device, project=project).evaluate(
        dataset, split, data_dir=data_dir, offline=True if offline else None, topk=topk)
    report = result.report
    for note in result.notes:
        err().print(f"warning: {note}", style="yellow", markup=False, highlight=False)
    plots = [plot / name for name in PLOT_NAMES] if plot else []
    if as_json:
        print_json({**result.to_dict(), "plots": [str(p) for p in plots]})
    else:
        _print_report(result)
    if plot:  # after the report, so that a picture that cannot be written never costs the numbers
        _write_plots(result, plot)
        for path in plots:
            err().print(f"wrote {path}", markup=False, highlight=False)
    if fail_under is not None and report.accuracy < fail_under:
        raise QualityGateFailed(f"Accuracy {report.accuracy:.4f} is below --fail-under {fail_under}")


def _write_plots(result, directory: Path) -> None:
    """confusion.png and mistakes.png (the most confident mistakes first) in ``directory``."""
    from ..evaluation._drawing import save_figure, save_png

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise from_os_error(exc, f"Cannot create plot directory {directory}") from None
    confusion_path, mistakes_path = (directory / name for name in PLOT_NAMES)
    save_figure(result.plot_confusion(), confusion_path)
    save_png(result.mistakes_sheet(48), mistakes_path)


def _print_report(result) -> None:
    """Summary, per-class and confusion tables on stdout."""
    report = result.report
    console = out()
    head = new_table(title=f"{result.checkpoint} on {result.dataset} ({result.split}, {report.count} images)")
    head.add_column("metric")
    head.add_column("value", justify="right")
    head.add_row("accuracy (top-1)", f"{report.accuracy:.2%}")
    head.add_row(f"accuracy (top-{report.topk})", f"{report.topk_accuracy:.2%}")
    head.add_row("loss (cross-entropy)", f"{report.loss:.4f}")
    console.print(head)
    per_class = new_table(title="Per class")
    for column in ("class", "precision", "recall", "f1", "support"):
        per_class.add_column(column, justify="left" if column == "class" else "right")
    for row in report.per_class:
        per_class.add_row(escape(row["class"]), f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}",
                          str(row["support"]))
    for label, avg in (("macro avg", report.macro), ("weighted avg", report.weighted)):
        per_class.add_row(label, f"{avg['precision']:.4f}", f"{avg['recall']:.4f}", f"{avg['f1']:.4f}",
                          str(report.count), style="bold")
    console.print(per_class)
    matrix = new_table(title="Confusion matrix (rows: true, columns: predicted)")
    matrix.add_column("")
    for name in report.classes:
        matrix.add_column(name[:6], justify="right")
    for i, (name, row) in enumerate(zip(report.classes, report.confusion)):
        cells = ["." if not v else f"[bold]{v}[/]" if i == j else str(v) for j, v in enumerate(row)]
        matrix.add_row(escape(name[:12]), *cells)
    console.print(matrix)
