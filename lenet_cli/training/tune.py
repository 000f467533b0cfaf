"""Hyperparameter search with Optuna (`lenet tune`): every trial is a normal run, chosen on validation accuracy.

TPE samples the options of a search space; a median pruner stops a trial whose validation
accuracy after an epoch is below the median of earlier trials at that epoch. A study lives in
Optuna's storage: by default a SQLite file in its directory (runs/tune/NAME/study.db); any URL
Optuna takes (postgresql://...) lets several processes, on one machine or many, work on one
study, each running the same `lenet tune`. The test split never chooses: it is read for the
best trial only, from that trial's run.json.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import Interrupted, LenetError, UsageError, did_you_mean
from .config import TrainConfig, read_toml, to_toml

__all__ = ["DEFAULT_SPACE", "TuneResult", "load_space", "require_optuna", "tune"]

# option -> how to sample it; a --space TOML file has the same shape ([lr] type = "float" low = ... log = true)
DEFAULT_SPACE: dict[str, dict[str, Any]] = {
    "lr": {"type": "float", "low": 1e-3, "high": 3e-2, "log": True},
    "batch_size": {"type": "categorical", "choices": [64, 128, 256]},
    "weight_decay": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
    "label_smoothing": {"type": "float", "low": 0.0, "high": 0.2},
    "augment": {"type": "categorical", "choices": ["none", "shift", "affine"]},
}
_KINDS = {"float": ("low", "high"), "int": ("low", "high"), "categorical": ("choices",)}
_SEARCHABLE = {f.name for f in dataclasses.fields(TrainConfig)} - {
    "dataset", "data_dir", "offline", "model", "epochs", "val_split", "patience", "seed", "device", "threads",
    "project", "name", "fail_under", "log", "deterministic", "compile"}


@dataclass
class TuneResult:
    """What a study holds after this process's work, and its best trial."""

    study: str
    storage: str
    directory: Path
    complete: int
    pruned: int
    failed: int
    best: dict[str, Any] | None  # number, value (validation accuracy), params, run_dir, test_accuracy
    best_config: Path | None  # best.toml, for lenet train --config
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "directory": str(self.directory),
                "best_config": str(self.best_config) if self.best_config else None,
                "retrain": f"lenet train --config {self.best_config}" if self.best_config else None}


def require_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise LenetError("lenet tune needs Optuna: pip install 'lenet-cli[tune]'") from None


def load_space(path: Path | None) -> dict[str, dict[str, Any]]:
    """The search space: DEFAULT_SPACE, or a TOML file of tables, one per option; each checked here (exit 2)."""
    if path is None:
        return DEFAULT_SPACE
    raw = read_toml(path, "Search space")
    space = {key.replace("-", "_"): spec for key, spec in raw.items()}
    for name, spec in space.items():
        _check_dimension(path, name, spec)
    if not space:
        raise UsageError(f"{path}: no options to search; see docs/tuning.md for the format")
    return space


def _check_dimension(path: Path, name: str, spec: Any) -> None:
    where = f"{path}: [{name.replace('_', '-')}]"
    if name not in _SEARCHABLE:
        raise UsageError(f"{where}: not an option tune can search{did_you_mean(name, _SEARCHABLE)}; "
                         f"searchable: {', '.join(sorted(_SEARCHABLE))}")
    if not isinstance(spec, dict) or spec.get("type") not in _KINDS:
        raise UsageError(f"{where}: needs type = \"float\", \"int\" or \"categorical\"")
    missing = [key for key in _KINDS[spec["type"]] if key not in spec]
    if missing:
        raise UsageError(f"{where}: a {spec['type']} needs {' and '.join(missing)}")
    if spec["type"] != "categorical" and not spec["low"] < spec["high"]:
        raise UsageError(f"{where}: low must be below high")
    if spec["type"] == "categorical" and not (isinstance(spec["choices"], list) and spec["choices"]):
        raise UsageError(f"{where}: choices must be a non-empty list")


def tune(base: TrainConfig, *, study_name: str, storage: str | None, trials: int, space: dict[str, dict[str, Any]],
         should_stop: Callable[[], bool] = lambda: False,
         on_trial: Callable[[str, dict[str, Any]], None] = lambda kind, info: None) -> TuneResult:
    """Run trials until the study holds ``trials`` finished ones (complete or pruned), or a stop is asked for."""
    import optuna

    if base.val_split <= 0:
        raise UsageError("lenet tune chooses on the validation split; --val-split must be above 0")
    started = time.perf_counter()
    directory = Path(base.project) / study_name
    directory.mkdir(parents=True, exist_ok=True)
    url = storage or f"sqlite:///{directory / 'study.db'}"
    study = _open_study(optuna, study_name, url)
    while not should_stop() and _finished(study) < trials:
        trial = study.ask()
        if _ordinal(study, trial) >= trials:  # another worker took the last place first
            trial.set_user_attr("refused", f"the study already had {trials} trials")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        _run_trial(optuna, study, trial, base, directory, space, should_stop, on_trial)
    return _result(optuna, study, url, directory, base, time.perf_counter() - started)


def _open_study(optuna: Any, name: str, url: str, attempts: int = 5) -> Any:
    """The study in ``url``, created on first use; a storage that cannot be reached is exit 69.

    Workers started together race to create the storage's tables and the study; the loser
    of such a race tries again (a few times, a moment apart) and then finds them made.
    """
    from ..errors import DataUnavailable

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own lines say what happens
    attempt = 0
    while True:
        try:
            return optuna.create_study(study_name=name, storage=url, direction="maximize", load_if_exists=True,
                                       sampler=optuna.samplers.TPESampler(), pruner=_pruner(optuna))
        except ImportError as exc:  # a driver that is not installed (psycopg2 for postgresql://)
            raise LenetError(f"--storage {_safe(url)}: {exc}; for PostgreSQL: pip install 'lenet-cli[tune]'") \
                from None
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's errors: a race lost, or a server that does not answer
            attempt += 1
            if attempt == attempts:
                raise DataUnavailable(f"--storage {_safe(url)}: cannot open the study "
                                      f"({str(exc).splitlines()[0][:200]})") from None
            time.sleep(0.3 + 0.4 * random.random())


def _pruner(optuna: Any) -> Any:
    """Median pruning from the second epoch on, once 3 trials have finished: the first epoch of a one-cycle
    schedule is its warm-up, and how far a trial got by then says little about where it ends (a 20-trial MNIST
    study that pruned from epoch 1 stopped 12 of its 16 pruned trials there)."""
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)  # steps are epochs; prunes at step >= 2


def _safe(url: str) -> str:
    """A storage URL without its password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':')[0]}:***@{tail}"


def _finished(study: Any) -> int:
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=done))


def _ordinal(study: Any, trial: Any) -> int:
    """How many trials before this one finished or are running: its place in the study."""
    import optuna

    counted = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
    return sum(1 for t in study.get_trials(deepcopy=False, states=counted) if t.number < trial.number)


def _run_trial(optuna: Any, study: Any, trial: Any, base: TrainConfig, directory: Path,
               space: dict[str, dict[str, Any]], should_stop: Callable[[], bool],
               on_trial: Callable[[str, dict[str, Any]], None]) -> None:
    """Train one trial's run; tell the study how it ended. A stop asked for fails the trial and raises."""
    from .trainer import train

    params = {name: _suggest(trial, name, spec) for name, spec in space.items()}
    config = dataclasses.replace(base, **params, project=str(directory), name=f"trial-{trial.number:04d}",
                                 patience=None, fail_under=None)
    trial.set_user_attr("run_dir", str(directory / config.name))
    pruned = [False]

    def on_event(kind: str, payload: dict[str, Any]) -> None:
        if kind == "epoch" and payload.get("val_acc") is not None:
            trial.report(payload["val_acc"], payload["epoch"])
            pruned[0] = pruned[0] or trial.should_prune()

    on_trial("start", {"number": trial.number, "params": params, "run_dir": str(directory / config.name)})
    try:
        result = train(config, on_event=on_event, should_stop=lambda: pruned[0] or should_stop())
    except BaseException:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    if result.status == "interrupted" and not pruned[0]:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise Interrupted(f"Stopped; trial {trial.number} is marked failed, and running the same command again "
                          f"continues the study")
    if pruned[0]:
        _mark_pruned(result.run_dir)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(trial, result.best_val_accuracy)
    on_trial("end", {"number": trial.number, "state": "pruned" if pruned[0] else "complete",
                     "value": result.best_val_accuracy, "epochs": result.epochs})


def _mark_pruned(run_dir: Path) -> None:
    """A pruned trial's run.json says "pruned", not "interrupted": the study stopped it, not a person."""
    from ..files import write_json

    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    record["status"] = record["result"]["status"] = "pruned"
    write_json(run_dir / "run.json", record)


def _suggest(trial: Any, name: str, spec: dict[str, Any]) -> Any:
    if spec["type"] == "float":
        return trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False))
    if spec["type"] == "int":
        return trial.suggest_int(name, spec["low"], spec["high"], log=spec.get("log", False))
    return trial.suggest_categorical(name, spec["choices"])


def _result(optuna: Any, study: Any, url: str, directory: Path, base: TrainConfig, seconds: float) -> TuneResult:
    states = optuna.trial.TrialState
    count = {state: len(study.get_trials(deepcopy=False, states=(state,))) for state in states}
    best, best_config = None, None
    if count[states.COMPLETE]:
        trial = study.best_trial
        run_dir = Path(trial.user_attrs["run_dir"])
        best = {"number": trial.number, "value": trial.value, "params": trial.params, "run_dir": str(run_dir),
                "test_accuracy": _best_test_accuracy(run_dir)}
        best_config = _write_best_config(directory, base, trial)
    return TuneResult(study.study_name, _safe(url), directory, count[states.COMPLETE], count[states.PRUNED],
                      count[states.FAIL], best, best_config, seconds)


def _best_test_accuracy(run_dir: Path) -> float | None:
    """The test accuracy of the best trial's best.pt, from its run.json (read for this one trial only)."""
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["result"]["best_test_accuracy"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_best_config(directory: Path, base: TrainConfig, trial: Any) -> Path:
    """best.toml: the base options with the best trial's values, for `lenet train --config`."""
    from ..files import write_text

    config = dataclasses.replace(base, **trial.params, project="runs/train", name=None, seed=None)
    text = to_toml(config).replace(
        "# Resolved configuration of this run; reuse with: lenet train --config config.toml",
        f"# The best trial ({trial.number}, validation accuracy {trial.value:.4f}) of study {directory.name}; "
        f"retrain with: lenet train --config {directory / 'best.toml'}")
    path = directory / "best.toml"
    write_text(path, text)
    return path
