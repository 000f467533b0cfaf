"""Training from Python: ``train()`` takes every ``lenet train`` option as a keyword and returns a ``Run``;
``runs()`` lists the runs under a project, as ``lenet runs`` does.

``lenet train`` calls ``train_with_config`` here, so both write the same weights for the same options. torch
loads only when a run starts.
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Sequence

from ..errors import LenetError, QualityGateFailed, require_choice
from ..training.config import TrainConfig, load_toml
from ..training.run_writer import TrainResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..training.run_reader import RunSummary

__all__ = ["Run", "RunList", "TrainingStopped", "runs", "train", "train_with_config"]

Callback = Callable[[str, dict[str, Any]], None]
_DEFAULT = TrainConfig()  # train()'s defaults restate the config's, for readers and editors; a test checks they agree
_STOPPING = "stopping after this step and saving last.pt (interrupt again to stop at once)"


@dataclass
class Run(TrainResult):
    """A training run: how it ended (``status``: completed, early_stopped, interrupted), its accuracy,
    checkpoints and history (one dict per epoch, the columns of metrics.csv)."""

    def plot(self) -> Figure:
        """The loss and accuracy curves per epoch, the best epoch marked (curves.png)."""
        from ..evaluation.curves import curves_figure
        from ..training.run_reader import read_run, read_run_loss

        if not self.history:
            raise LenetError(f"{self.run_dir}: no epoch finished yet, so there are no curves to plot")
        record = read_run(self.run_dir)
        return curves_figure(self.history, f"{self.run_dir.name}: {record.model} on {record.dataset}",
                             read_run_loss(self.run_dir))

    def check_gate(self, fail_under: float | None) -> None:
        """Raise ``QualityGateFailed`` (exit code 3) when the last epoch's test accuracy is below ``fail_under``."""
        if fail_under is not None and (self.test_accuracy or 0.0) < fail_under:
            measured = "unknown" if self.test_accuracy is None else f"{self.test_accuracy:.4f}"
            error = QualityGateFailed(f"Test accuracy {measured} (last epoch, last.pt) is below --fail-under "
                                      f"{fail_under}")
            error.run = self  # type: ignore[attr-defined]  # the run is still there to look at
            raise error

    def _repr_html_(self) -> str:
        from ..display import percent, table_html, titled

        rows = [("epochs", self.epochs), ("test accuracy (last epoch)", percent(self.test_accuracy)),
                ("best epoch (on validation)", "none (no validation split)" if self.best_epoch is None else
                 f"{self.best_epoch}: validation {percent(self.best_val_accuracy)}, "
                 f"test {percent(self.best_test_accuracy)}"),
                ("seed", self.seed), ("time", f"{self.seconds:.1f} s"),
                ("best checkpoint", self.best_checkpoint), ("last checkpoint", self.last_checkpoint)]
        return titled(f"Training {self.status.replace('_', ' ')}: {self.run_dir}", table_html(["", ""], rows))

    @classmethod
    def from_result(cls, result: TrainResult) -> "Run":
        """The Run of what the trainer returned."""
        return cls(**{f.name: getattr(result, f.name) for f in fields(result)})


class TrainingStopped(KeyboardInterrupt):
    """Ctrl-C (a notebook's interrupt) stopped ``train()`` after a step; last.pt was saved and ``run`` says where."""

    def __init__(self, run: Run) -> None:
        super().__init__(f"training stopped on request; resumable checkpoint saved: {run.last_checkpoint} "
                         f"(continue with lenet_cli.train(resume={str(run.last_checkpoint)!r}))")
        self.run = run


def train(
    *,
    dataset: str = "mnist",
    data_dir: str | Path | None = None,
    offline: bool | None = None,
    model: str = "lenet5",
    epochs: int = 3,
    batch_size: int = 256,
    lr: float = 0.02,
    optimizer: str = "adamw",
    momentum: float = 0.9,
    weight_decay: float = 0.05,
    scheduler: str = "onecycle",
    loss: str = "auto",
    label_smoothing: float = 0.1,
    augment: str = "shift",
    val_split: float = 1 / 12,
    patience: int | None = None,
    seed: int | None = None,
    deterministic: bool = False,
    device: str = "auto",
    amp: str = "auto",
    compile: bool = False,
    threads: int | None = None,
    project: str | Path = "runs/train",
    name: str | None = None,
    fail_under: float | None = None,
    log: str = "none",
    resume: str | Path | None = None,
    config: str | Path | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
) -> Run:
    """Train a model and return its ``Run``; the options are ``lenet train``'s, with the same defaults and checks
    (docs/training.md). Validation chooses best.pt; the test split is measured every epoch, for the record.

    ``resume``: a last.pt to continue (options left at their defaults take the checkpoint's values).
    ``config``: a TOML file of options; keywords that differ from the defaults win over it. ``progress``:
    a bar in a notebook, one line per epoch elsewhere. ``callbacks`` get every event the progress shows,
    as ``callback(kind, payload)``: "start", "step", "evaluate", "epoch" (the epoch's metrics), "note",
    "warning". Ctrl-C stops after the current step, saves last.pt and raises ``TrainingStopped`` (a
    KeyboardInterrupt); ``fail_under`` raises ``QualityGateFailed`` (its ``run`` attribute holds the Run).
    Several processes: start the script with torchrun (``lenet train --nproc`` does that for the CLI).
    """
    arguments = dict(locals())
    cfg, explicit = _config({f.name: arguments[f.name] for f in fields(TrainConfig)}, config)
    run = train_with_config(cfg, resume=resume, explicit=explicit, progress=progress, callbacks=callbacks)
    run.check_gate(cfg.fail_under)
    return run


def _config(options: dict[str, Any], config_file: str | Path | None) -> tuple[TrainConfig, set[str]]:
    """The run's TrainConfig: keywords that differ from the defaults beat the config file, which beats the
    defaults; and the options set either way (a resume keeps the checkpoint's value of the others)."""
    given = {name for name, value in options.items() if value != getattr(_DEFAULT, name)}
    from_file = load_toml(config_file) if config_file is not None else {}
    values = {**_DEFAULT.to_dict(), **from_file, **{name: options[name] for name in given}}
    for key in ("data_dir", "project"):  # paths, recorded as text
        if isinstance(values[key], Path):
            values[key] = str(values[key])
    return TrainConfig(**values), given | set(from_file)


def train_with_config(config: TrainConfig, *, resume: str | Path | None = None, explicit: Collection[str] = (),
                      progress: bool = True, callbacks: Sequence[Callback] = (),
                      should_stop: Callable[[], bool] | None = None) -> Run:
    """Train per ``config`` (``explicit``: the options the user set, which a resume takes over the checkpoint's).

    Without ``should_stop`` Ctrl-C asks the run to stop after its step, and a stopped run raises
    ``TrainingStopped``; with it, the caller listens for signals and an interrupted run is returned.
    """
    from ..models import get_model_spec
    from ..stopping import StopRequest
    from ..training.trainer import train as run_trainer
    from .progress import make_progress

    if resume is None:
        get_model_spec(config.model)  # an unknown model: exit 2 before any data is loaded
    else:
        from ..inference.loading import require_lenet_checkpoint

        resume = require_lenet_checkpoint(Path(resume), "--resume (it continues from the optimizer and schedule "
                                                        "saved in last.pt)")
    display = make_progress(progress)
    listeners = [*([display.handle] if display is not None else []), *callbacks]

    def on_event(kind: str, payload: dict[str, Any]) -> None:
        for listener in listeners:
            listener(kind, payload)

    stop = StopRequest(lambda: on_event("note", {"message": _STOPPING}), signals=(signal.SIGINT,)) \
        if should_stop is None else None
    with stop or contextlib.nullcontext(), display or contextlib.nullcontext():
        result = run_trainer(config, on_event=on_event, should_stop=stop or should_stop, resume=resume,
                             explicit=set(explicit))
    run = Run.from_result(result)
    if stop is not None and run.status == "interrupted":
        raise TrainingStopped(run)
    return run


class RunList(list):  # type: ignore[type-arg]
    """The runs under a project (``RunSummary`` records); a notebook shows them as the table ``lenet runs`` prints."""

    def __init__(self, found: Sequence[RunSummary] = (), project: Path = Path("runs/train")) -> None:
        super().__init__(found)
        self.project = project

    def _repr_html_(self) -> str:
        from ..display import percent, table_html

        rows = [(r.name, r.status.replace("_", " "), r.model, r.dataset,
                 "" if r.epochs is None else f"{r.epochs}/{'?' if r.planned_epochs is None else r.planned_epochs}",
                 r.problem or " ".join(f"{k.replace('_', '-')}={v}" for k, v in r.options.items()),
                 percent(r.best_val_acc), percent(r.test_acc), "" if r.seconds is None else f"{r.seconds:.0f} s",
                 r.date) for r in self]
        return table_html(["name", "status", "model", "dataset", "epochs", "options", "best val", "test", "time",
                           "date"], rows, caption=f"Runs in {self.project}" + ("" if self else ": none yet"),
                          numeric=[4, 6, 7, 8])


def runs(project: str | Path = "runs/train", *, sort: str = "date", reverse: bool = False,
         model: str | None = None, dataset: str | None = None, status: str | None = None) -> RunList:
    """The runs under ``project``, from each run's run.json (damaged ones too, with the reason), as ``lenet runs``
    lists them: optionally only one ``model``, ``dataset`` or ``status``, sorted by ``sort`` (date, name,
    test_acc, val_acc, time, epochs; metrics and time largest first), ``reverse`` the other way round."""
    from ..training.run_reader import SORT_KEYS, STATUSES, list_runs

    require_choice("--sort", sort, SORT_KEYS)
    if status is not None:
        require_choice("--status", status, STATUSES)
    project = Path(project)
    found = [r for r in list_runs(project) if (model is None or r.model == model)
             and (dataset is None or r.dataset == dataset) and (status is None or r.status == status)]
    key, largest_first = SORT_KEYS[sort]
    present = [r for r in found if getattr(r, key) is not None]  # runs without the value go last, in name order
    present.sort(key=lambda r: _order(getattr(r, key)), reverse=largest_first != reverse)
    return RunList(present + [r for r in found if getattr(r, key) is None], project)


def _order(value: object) -> tuple[int, float | int, str]:
    """A sort key that cannot fail: numbers among numbers, text among text, never one compared with the other.

    run_reader hands over values of the right type only; this keeps a wrong one from ending the listing.
    """
    import math

    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return (0, value, "")
    return (1, 0.0, value if isinstance(value, str) else repr(value))
