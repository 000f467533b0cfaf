"""``lenet runs``: every run under a project, side by side, from each run.json (no torch import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..training.run_reader import SORT_KEYS, STATUSES, RunSummary
from .console import new_table, out, print_json, safe_text
from .options import JsonOption, complete_datasets, complete_models, one_of


def runs_command(
    project: Annotated[Path, typer.Option(help="The directory that holds the runs.")] = Path("runs/train"),
    sort: Annotated[one_of(SORT_KEYS), typer.Option(help="Order: metrics and time largest first, name and date "
                                                         "in order.")] = "date",
    reverse: Annotated[bool, typer.Option("--reverse", help="The other way round.")] = False,
    model: Annotated[Optional[str], typer.Option(help="Only runs of this model.", autocompletion=complete_models)] = None,
    dataset: Annotated[Optional[str], typer.Option(help="Only runs on this dataset.",
                                                   autocompletion=complete_datasets)] = None,
    status: Annotated[Optional[one_of(STATUSES)], typer.Option(help="Only runs in this state.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the runs under --project: status, model, data, options that differ from the defaults, accuracy, time."""
    from ..api.training import runs

    found = runs(project, sort=sort, reverse=reverse, model=model, dataset=dataset, status=status)
    if as_json:
        print_json([run.to_dict() for run in found])
        return
    _print_table(found, project)


def _print_table(runs: list[RunSummary], project: Path) -> None:
    table = new_table(title=f"Runs in {_plain(str(project))}", caption=None if runs else "no runs here yet")
    numeric = ("epochs", "best val", "test", "time")
    for column in ("name", "status", "model", "dataset", *numeric[:1], "options", *numeric[1:], "date"):
        table.add_column(column, justify="right" if column in numeric else "left", overflow="fold")
    for run in runs:
        planned = "?" if run.planned_epochs is None else run.planned_epochs
        epochs = "" if run.epochs is None else f"{run.epochs}/{planned}"
        options = run.problem or " ".join(f"{k.replace('_', '-')}={_short(v)}" for k, v in run.options.items())
        table.add_row(_plain(run.name), _status(run), _plain(run.model or ""), _plain(run.dataset or ""), epochs,
                      _plain(options), _percent(run.best_val_acc), _percent(run.test_acc),
                      "" if run.seconds is None else f"{run.seconds:.0f} s", run.date)
    out().print(table)


def _plain(text: str) -> str:
    """Text from a run directory (its name, what its run.json says), shown as text: no markup, no control codes."""
    return escape(safe_text(text))


def _status(run: RunSummary) -> str:
    colours = {"completed": "green", "running": "cyan", "diverged": "red", "damaged": "red", "interrupted": "yellow",
               "pruned": "yellow"}
    text = run.status.replace("_", " ")
    return f"[{colours[run.status]}]{text}[/]" if run.status in colours else text


def _short(value: object) -> str:
    """An option's value as the table shows it: floats to 3 significant digits (the JSON keeps them whole)."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"
