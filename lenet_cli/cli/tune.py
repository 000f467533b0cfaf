"""``lenet tune``: a hyperparameter search with Optuna, one normal run per trial (the tune extra)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape

from ..errors import Interrupted
from ..training.config import TrainConfig
from .console import err, new_table, out, print_json, print_note, safe_text
from .options import DataDirOption, JsonOption, ModelOption, OfflineOption, argv_without, complete_datasets
from .guard import StopRequest, interrupted

_DEFAULT = TrainConfig()


def tune_command(
    dataset: Annotated[str, typer.Option(help="Dataset name, idx:DIR or folder:DIR.",
                                         autocompletion=complete_datasets)] = _DEFAULT.dataset,
    trials: Annotated[int, typer.Option(min=1, help="Finished trials the study should hold (all workers together).")] = 20,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs per trial.")] = 5,
    space: Annotated[Optional[Path], typer.Option(help="TOML file of the options to search (default: lr, batch size, "
                                                       "weight decay, label smoothing, augmentation).")] = None,
    study: Annotated[str, typer.Option(help="Study name: runs/tune/NAME holds its trials.")] = "study",
    storage: Annotated[Optional[str], typer.Option(help="Optuna storage URL shared by workers, e.g. "
                                                        "postgresql://user:pass@host/db (default: SQLite in the "
                                                        "study's directory).")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes on this machine, sharing the study.")] = 1,
    model: ModelOption = _DEFAULT.model,
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
    threads: Annotated[Optional[int], typer.Option(min=1, help="CPU threads per worker (default: cores / jobs).")] = None,
    project: Annotated[Path, typer.Option(help="Parent of study directories.")] = Path("runs/tune"),
    as_json: JsonOption = False,
) -> None:
    """Search hyperparameters with Optuna (TPE, median pruning) on validation accuracy; print the best trial."""
    from ..models import get_model_spec
    from ..training.tune import check_study_name, load_space, require_optuna, tune

    require_optuna()
    get_model_spec(model)  # unknown names: exit 2 before a study or a trial exists
    if not dataset.startswith(("idx:", "folder:")):
        from ..data.factory import get_dataset_spec

        get_dataset_spec(dataset)
    search = load_space(space)
    check_study_name(study)  # exit 2 before a worker starts or a directory exists
    if jobs > 1:
        raise typer.Exit(_workers(jobs))
    base = TrainConfig(dataset=dataset, model=model, epochs=epochs, data_dir=str(data_dir) if data_dir else None,
                       offline=True if offline else None, threads=threads, project=str(project))
    base.validate()
    with StopRequest(_stopping_notice) as stop:
        try:
            result = tune(base, study_name=study, storage=storage, trials=trials, space=search, should_stop=stop,
                          on_trial=_reporter())
        except Interrupted as exc:
            exc.exit_code = stop.exit_code
            raise
        except KeyboardInterrupt:
            raise Interrupted("Stopped at once; the trial under way is marked failed", interrupted().exit_code) from None
    if as_json:
        print_json(result.to_dict())
    else:
        _print_result(result)
    if stop():  # asked to stop between trials, or before the first: the study is saved, and the answer is 130/143
        raise Interrupted("Stopped on request; the study keeps every finished trial", stop.exit_code)


def _stopping_notice() -> None:
    err().print("stopping after this trial (press Ctrl-C again to quit at once)", markup=False, highlight=False)


def _workers(jobs: int) -> int:
    """This same command as ``jobs`` processes on one study (each with a share of the cores); the worst exit code."""
    argv = argv_without("--jobs")
    if "--threads" not in argv:
        argv += ["--threads", str(max(1, (os.cpu_count() or 1) // jobs))]
    procs = [subprocess.Popen([sys.executable, "-m", "lenet_cli", *argv]) for _ in range(jobs)]
    try:
        return max(proc.wait() for proc in procs)
    except KeyboardInterrupt:  # the workers got the same Ctrl-C from the terminal and stop their trials
        return max(proc.wait() for proc in procs) or 130


def _reporter() -> Any:
    """One line on stderr as each trial starts and ends (stdout keeps the result, or the JSON)."""

    def report(kind: str, info: dict[str, Any]) -> None:
        if kind == "start":
            shown = ", ".join(f"{k.replace('_', '-')}={_short(v)}" for k, v in info["params"].items())
            err().print(f"trial {info['number']}: {shown} ({info['run_dir']})", markup=False, highlight=False,
                        soft_wrap=True)
        elif info["value"] is not None:
            err().print(f"trial {info['number']}: {info['state']} after {info['epochs']} epoch(s), validation "
                        f"accuracy {info['value']:.4f}", markup=False, highlight=False, soft_wrap=True)

    return report


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _print_result(result: Any) -> None:
    if result.best is None:
        print_note(f"study {result.study} has no complete trial yet ({result.pruned} pruned, {result.failed} failed)")
        return
    best = result.best
    table = new_table(title=f"Study {_plain(result.study)}: best of {result.complete} complete trials "
                            f"({result.pruned} pruned, {result.failed} failed)")
    table.add_column("")
    table.add_column("value", justify="right", overflow="fold")
    table.add_row("best trial", f"{best['number']} ({_plain(best['run_dir'])})")
    table.add_row("validation accuracy", f"{best['value']:.2%}")
    if best["test_accuracy"] is not None:
        table.add_row("test accuracy (best trial only)", f"{best['test_accuracy']:.2%}")
    for name, value in best["params"].items():
        table.add_row(name.replace("_", "-"), _short(value))
    table.add_row("storage", _plain(result.storage))  # masked by the library: no password reaches a table
    table.add_row("time (this process)", f"{result.seconds:.0f} s")
    out().print(table)
    print_note(f"retrain it with: lenet train --config {result.best_config}")


def _plain(text: str) -> str:
    """A path or URL the user gave, shown as text: no Rich markup, no control characters."""
    return escape(safe_text(text))
