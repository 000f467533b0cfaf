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
import math
import random
import re
import time
import typing
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import Interrupted, LenetError, UsageError, did_you_mean
from .config import TrainConfig, plain_name, read_toml, to_toml

__all__ = ["DEFAULT_SPACE", "TuneResult", "check_study_name", "load_space", "mask_storage", "require_optuna", "tune"]

# option -> how to sample it; a --space TOML file has the same shape ([lr] type = "float" low = ... log = true)
DEFAULT_SPACE: dict[str, dict[str, Any]] = {
    "lr": {"type": "float", "low": 1e-3, "high": 3e-2, "log": True},
    "batch_size": {"type": "categorical", "choices": [64, 128, 256]},
    "weight_decay": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
    "label_smoothing": {"type": "float", "low": 0.0, "high": 0.2},
    "augment": {"type": "categorical", "choices": ["none", "shift", "affine"]},
}
_KINDS = {"float": ("low", "high"), "int": ("low", "high"), "categorical": ("choices",)}  # type -> keys it needs
_OPTIONAL = {"float": ("log",), "int": ("log",), "categorical": ()}  # type -> keys it may have
_HINTS = typing.get_type_hints(TrainConfig)
_TYPE_WORDS = {int: "a whole number", float: "a number", str: "a string"}
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
    raw = read_toml(path, "Search space")  # the TOML parser's own limits are exit 2 there too
    space: dict[str, Any] = {}
    for key, spec in raw.items():
        name = key.replace("-", "_")
        if name in space:
            raise UsageError(f"{path}: [{key}] is given twice (dashes and underscores name the same option)")
        _check_dimension(path, name, spec)
        space[name] = spec
    if not space:
        raise UsageError(f"{path}: no options to search; see docs/experiments.md for the format")
    return space


def _check_dimension(path: Path, name: str, spec: Any) -> None:
    """A usage error naming the option, the key and the rule, for a dimension no trial could sample."""
    where = f"{path}: [{name.replace('_', '-')}]"
    if name not in _SEARCHABLE:
        raise UsageError(f"{where}: not an option tune can search{did_you_mean(name, _SEARCHABLE)}; "
                         f"searchable: {', '.join(sorted(_SEARCHABLE))}")
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str) or spec["type"] not in _KINDS:
        raise UsageError(f"{where}: needs type = \"float\", \"int\" or \"categorical\"")
    kind = spec["type"]
    allowed = ("type", *_KINDS[kind], *_OPTIONAL[kind])
    unknown = [key for key in spec if key not in allowed]
    if unknown:
        raise UsageError(f"{where} {unknown[0]}: not a key of a {kind} dimension{did_you_mean(unknown[0], allowed)};"
                         f" it takes {', '.join(allowed)}")
    missing = [key for key in _KINDS[kind] if key not in spec]
    if missing:
        raise UsageError(f"{where}: a {kind} needs {' and '.join(missing)}")
    if kind == "categorical":
        _check_choices(where, name, spec["choices"])
    else:
        _check_range(where, name, kind, spec)


def _check_range(where: str, name: str, kind: str, spec: dict[str, Any]) -> None:
    """low and high of an int or float dimension: numbers of the option's type, low below high, log > 0."""
    option = _HINTS[name]
    if option not in (int, float):
        raise UsageError(f"{where} type = \"{kind}\": --{name.replace('_', '-')} takes a string; "
                         f"use type = \"categorical\" with its choices")
    if kind == "float" and option is int:
        raise UsageError(f"{where} type = \"float\": --{name.replace('_', '-')} takes whole numbers; "
                         f"use type = \"int\"")
    for key in ("low", "high"):
        value = spec[key]
        if not (_is_whole(value) if kind == "int" else _is_number(value)):
            raise UsageError(f"{where} {key} = {_toml_text(value)}: must be "
                             f"{'a whole number' if kind == 'int' else 'a finite number'}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise UsageError(f"{where} log = {_toml_text(log)}: must be true or false")
    if log and spec["low"] <= 0:
        raise UsageError(f"{where}: log = true needs low > 0, not {_toml_text(spec['low'])}")
    if not spec["low"] < spec["high"]:
        raise UsageError(f"{where}: low must be below high, not {_toml_text(spec['low'])} >= "
                         f"{_toml_text(spec['high'])}")
    for key in ("low", "high"):
        _check_value(where, name, f"{key} = {_toml_text(spec[key])}", spec[key])


def _check_choices(where: str, name: str, choices: Any) -> None:
    """The choices of a categorical dimension: a non-empty list of values the option takes."""
    if not (isinstance(choices, list) and choices):
        raise UsageError(f"{where}: choices must be a non-empty list")
    option = _HINTS[name]
    words = _TYPE_WORDS.get(option, "a value")
    for choice in choices:
        fits = _is_whole(choice) if option is int else _is_number(choice) if option is float else \
            isinstance(choice, str)
        if not fits:
            raise UsageError(f"{where} choices: {_toml_text(choice)} is not {words}, which "
                             f"--{name.replace('_', '-')} takes")
        _check_value(where, name, f"choices: {_toml_text(choice)}", choice)


def _check_value(where: str, name: str, what: str, value: Any) -> None:
    """A usage error when ``value`` is outside what the option takes (the rules of `lenet train`'s own checks)."""
    try:
        dataclasses.replace(TrainConfig(), **{name: value}).validate()
    except UsageError as exc:
        raise UsageError(f"{where} {what}: {exc}") from None


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _toml_text(value: Any) -> str:
    """A value from the space file as TOML writes it, short enough for one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "a table"
    text = json.dumps(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_study_name(name: str) -> None:
    """A usage error unless ``name`` is one plain path component: it names the study's directory in --project."""
    if not plain_name(name):
        raise UsageError(f"--study must be one plain directory name (no '/', not '.' or '..'), not {name!r}")


def tune(base: TrainConfig, *, study_name: str, storage: str | None, trials: int, space: dict[str, dict[str, Any]],
         should_stop: Callable[[], bool] = lambda: False,
         on_trial: Callable[[str, dict[str, Any]], None] = lambda kind, info: None) -> TuneResult:
    """Run trials until the study holds ``trials`` finished ones (complete or pruned), or a stop is asked for."""
    import optuna

    check_study_name(study_name)
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
    from sqlalchemy.exc import ArgumentError

    from ..errors import DataUnavailable

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own lines say what happens
    attempt = 0
    while True:
        try:
            return optuna.create_study(study_name=name, storage=url, direction="maximize", load_if_exists=True,
                                       sampler=optuna.samplers.TPESampler(), pruner=_pruner(optuna))
        except ImportError as exc:  # a driver that is not installed (psycopg for postgresql://)
            raise LenetError(f"--storage {mask_storage(url)}: {_scrub(str(exc), url)}; for PostgreSQL: "
                             f"pip install 'lenet-cli[tune]'") from None
        except ArgumentError as exc:  # not a URL, or a database kind SQLAlchemy does not know
            raise UsageError(f"--storage {mask_storage(url)}: not a storage URL ({_scrub(str(exc), url)}); "
                             f"for example sqlite:///study.db or postgresql://USER:PASSWORD@HOST/DB") from None
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's errors: a race lost, or a server that does not answer
            attempt += 1
            if attempt == attempts:
                raise DataUnavailable(f"--storage {mask_storage(url)}: cannot open the study "
                                      f"({_scrub(str(exc), url)})") from None
            time.sleep(0.3 + 0.4 * random.random())


def _pruner(optuna: Any) -> Any:
    """Median pruning from the second epoch on, once 3 trials have finished: the first epoch of a one-cycle
    schedule is its warm-up, and how far a trial got by then says little about where it ends (a 20-trial MNIST
    study that pruned from epoch 1 stopped 12 of its 16 pruned trials there)."""
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)  # steps are epochs; prunes at step >= 2


# The start of a URL: a scheme and its slashes (postgresql://, sqlite:///), also with the colon forgotten
# (postgresql//) or no scheme at all (//host).
_SCHEME = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*)?(?::/+|/{2,})")
# user:secret@ after the scheme; the secret runs to the last @, since people write an @ in a password unescaped.
_USERINFO = re.compile(r"([^:@/?#]*):(.*)@", re.DOTALL)
# password=, passwd=, pwd= (sslpassword= and the like too) in a query string or a libpq keyword list.
_QUERY_SECRET = re.compile(r"((?:^|[?&;\s])\w*(?:password|passwd|pwd)=)([^&;#\s]*)", re.IGNORECASE)
_MASK = "***"


def mask_storage(url: str) -> str:
    """A storage URL (or something meant as one) with every password replaced by ***, for any message or output.

    Masked: a userinfo password (postgresql://user:secret@host, also postgresql//user:secret@host and
    user:secret@host), password=/passwd=/pwd= query parameters, and a bare user:secret.
    """
    return _masked(url)[0]


def _masked(url: str) -> tuple[str, list[str]]:
    """``url`` masked, and the secrets taken out of it."""
    secrets: list[str] = []
    scheme = _SCHEME.match(url)
    head = scheme.group(0) if scheme else ""
    rest = url[len(head):]
    userinfo = _USERINFO.match(rest)
    if userinfo and userinfo.group(2):
        secrets.append(userinfo.group(2))
        rest = f"{userinfo.group(1)}:{_MASK}@{rest[userinfo.end():]}"
    elif not scheme and ":" in rest and "@" not in rest:  # user:secret, no host: all after the colon is secret
        user, _, secret = rest.partition(":")
        secrets.append(secret)
        rest = f"{user}:{_MASK}"

    def hide(match: re.Match[str]) -> str:
        secrets.append(match.group(2))
        return match.group(1) + _MASK

    return _QUERY_SECRET.sub(hide, head + rest), [secret for secret in secrets if secret]


def _scrub(text: str, url: str) -> str:
    """A driver's message about ``url`` as one short line, with the URL masked and no password in it anywhere."""
    masked, secrets = _masked(url)
    text = text.replace(url, masked)
    for secret in secrets:  # a driver may quote the password alone, or percent-decoded
        for form in sorted({secret, urllib.parse.unquote(secret)}, key=len, reverse=True):
            text = text.replace(form, _MASK)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= 200 else first[:197] + "..."


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
    return TuneResult(study.study_name, mask_storage(url), directory, count[states.COMPLETE], count[states.PRUNED],
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
