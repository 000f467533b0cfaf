"""The training configuration: one typed dataclass, a commented default per field."""

from __future__ import annotations

import dataclasses
import difflib
import json
import sys
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import InputNotFound, UsageError, require_choice
from ..files import note_input
from ..numbers import SEED_RANGE, require_in_range

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, packaged
    import tomli as tomllib

__all__ = ["TrainConfig", "load_toml", "read_toml", "to_toml", "plain_name", "CHOICES"]

CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": ("sgd", "adam", "adamw"),
    "scheduler": ("onecycle", "cosine", "step", "none"),
    "augment": ("none", "shift", "affine", "writing"),  # augment.AUGMENTATIONS, and none
    "device": ("auto", "cpu", "cuda", "mps"),
    "loss": ("auto", "cross-entropy", "eq9", "mse"),
    "amp": ("auto", "none", "bf16", "fp16"),
    "log": ("none", "tensorboard"),
}


@dataclass
class TrainConfig:
    dataset: str = "mnist"  # a name from `lenet datasets`, idx:DIR or folder:DIR
    data_dir: str | None = None  # looked at first for dataset files
    offline: bool | None = None  # never download (None: $LENET_OFFLINE decides)
    model: str = "lenet5"  # a name from `lenet models`
    epochs: int = 3  # enough for the default recipe to pass 99 % on MNIST (docs/benchmarks.md)
    batch_size: int = 256  # images per optimisation step (large enough to keep bf16 and a 2-core CPU busy)
    lr: float = 0.02  # peak learning rate (one-cycle's maximum; 0.02 suits batch 256)
    optimizer: str = "adamw"  # sgd | adam | adamw
    momentum: float = 0.9  # SGD momentum in [0, 1); under onecycle, the top of its cycle (Adam ignores it)
    weight_decay: float = 0.05  # L2 penalty (decoupled for adamw); with smoothing, it keeps long runs improving
    scheduler: str = "onecycle"  # onecycle | cosine | step | none
    loss: str = "auto"  # auto (the model's own) | cross-entropy | eq9 | mse (the last two: RBF outputs only)
    label_smoothing: float = 0.1  # cross-entropy label smoothing (curbs over-confidence on long runs)
    # none | shift (moves of up to 2 px: helps long runs, costs short ones nothing) | affine (the
    # paper's random distortions) | writing (affine, elastic, thickness, blur)
    augment: str = "shift"
    val_split: float = 1 / 12  # fraction of train held out (per class) to choose best.pt and stop early; 5,000 for MNIST
    patience: int | None = None  # stop after this many epochs without improvement
    seed: int | None = None  # None: chosen at random, always recorded
    deterministic: bool = False  # torch.use_deterministic_algorithms (slower on GPU)
    device: str = "auto"  # auto | cpu | cuda | mps
    amp: str = "auto"  # auto (bf16 where the hardware has it) | none | bf16 | fp16 (CUDA only, with a gradient scaler)
    compile: bool = False  # torch.compile the model (pays off on GPUs; on CPU compiling costs more than it saves)
    threads: int | None = None  # CPU threads (None: all cores)
    project: str = "runs/train"  # parent of run directories
    name: str | None = None  # run directory name (None: exp, exp2, ...)
    fail_under: float | None = None  # exit 3 when final test accuracy is below this
    log: str = "none"  # none | tensorboard (event files in the run directory; the tensorboard extra)

    def validate(self) -> None:
        """Raise UsageError for values no run could use."""
        for key, allowed in CHOICES.items():
            require_choice(f"--{key.replace('_', '-')}", getattr(self, key), allowed)
        self._validate_numbers()
        checks = [
            (self.epochs >= 1, "--epochs must be at least 1"),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (self.lr > 0, "--lr must be positive"),
            (0.0 <= self.val_split < 1.0, "--val-split must be in [0, 1)"),
            (0.0 <= self.label_smoothing < 1.0, "--label-smoothing must be in [0, 1)"),
            (self.weight_decay >= 0, "--weight-decay must not be negative"),
            (self.patience is None or self.patience >= 1, "--patience must be at least 1"),
            (self.patience is None or self.val_split > 0,
             "--patience stops on the validation split; it needs --val-split above 0 (the test split never chooses)"),
            (self.threads is None or self.threads >= 1, "--threads must be at least 1"),
            (self.fail_under is None or 0.0 <= self.fail_under <= 1.0, "--fail-under is a fraction in [0, 1]"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        if self.name is not None and not plain_name(self.name):
            raise UsageError(f"--name must be one plain directory name (no '/', not '.' or '..'), not {self.name!r}")

    def _validate_numbers(self) -> None:
        """Each number and flag has its field's type, numbers are finite; the seed and the momentum are in range."""
        hints = typing.get_type_hints(TrainConfig)
        for f in fields(self):
            kinds = set(typing.get_args(hints[f.name])) | {hints[f.name]}
            option = f"--{f.name.replace('_', '-')}"
            value = getattr(self, f.name)
            if bool in kinds:
                if not (isinstance(value, bool) or (value is None and type(None) in kinds)):
                    raise UsageError(f"{option} is true or false, not {value!r}")
            elif int in kinds:
                require_in_range(option, value, integer=True)
            elif float in kinds:
                require_in_range(option, value)
        require_in_range("--seed", self.seed, *SEED_RANGE, integer=True)
        require_in_range("--momentum", self.momentum, 0.0, 1.0, below_high=True)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def plain_name(name: str) -> bool:
    """One path component that names a new directory inside --project."""
    return name not in ("", ".", "..") and "/" not in name and "\0" not in name and Path(name).name == name


# Names people reach for that mean one of ours.
_ALIASES = {"learning-rate": "lr", "learning_rate": "lr", "batch": "batch-size", "epoch": "epochs",
            "wd": "weight-decay", "smoothing": "label-smoothing", "workers": "threads", "out": "project"}


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file as a dict; missing is exit 66 (naming ``what`` it is), not TOML is exit 2."""
    if not path.is_file():
        raise InputNotFound(f"{what} {path} not found")
    note_input(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, nesting deeper than Python's stack
        raise UsageError(f"{path}: not a TOML file lenet can read ({type(exc).__name__})") from None


def load_toml(path: str | Path) -> dict[str, Any]:
    """Options from a TOML file (keys as on the command line, dashes or underscores), each type-checked.

    A wrong type or an unknown key is a usage error naming the key (with a did-you-mean);
    ranges are checked afterwards by ``TrainConfig.validate``, as for the command line.
    """
    path = Path(path)
    raw = read_toml(path, "Config file")
    table = raw.get("train", raw)
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [train] must be a table of options, not {table!r}")
    hints = typing.get_type_hints(TrainConfig)
    values = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in hints:
            raise UsageError(f"{path}: unknown option {key!r}{_did_you_mean(key)}")
        values[name] = _typed(path, key, value, hints[name])
    return values


def _did_you_mean(key: str) -> str:
    known = [f.name.replace("_", "-") for f in fields(TrainConfig)]
    dashed = key.replace("_", "-").lower()
    match = _ALIASES.get(dashed) or next(iter(difflib.get_close_matches(dashed, [*known, *_ALIASES], n=1)), None)
    return f"; did you mean {_ALIASES.get(match, match)!r}?" if match else f"; known: {', '.join(known)}"


def _typed(path: Path, key: str, value: Any, hint: Any) -> Any:
    """``value`` if it has the type the option takes (ints are fine where a float is); else a usage error."""
    kinds = {arg for arg in typing.get_args(hint) if arg is not type(None)} or {hint}
    if bool in kinds:
        ok, expected = isinstance(value, bool), "true or false"
    elif int in kinds:
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif float in kinds:
        ok, expected = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        value = float(value) if ok else value
    else:
        ok, expected = isinstance(value, str), "a string"
    if not ok:
        raise UsageError(f"{path}: {key} = {_toml_repr(value)} must be {expected}")
    return value


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "a table" if isinstance(value, dict) else json.dumps(value, default=str)


def to_toml(config: TrainConfig) -> str:
    """The resolved configuration as TOML (None values are left out: they mean 'default')."""
    lines = ["# Resolved configuration of this run; reuse with: lenet train --config config.toml", "[train]"]
    for key, value in config.to_dict().items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        else:
            text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{key.replace('_', '-')} = {text}")
    return "\n".join(lines) + "\n"
