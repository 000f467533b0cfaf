"""The checkpoint format: save, load (``weights_only``), and the model a checkpoint describes.

A checkpoint is a plain dict of tensors and Python values, read back with
``weights_only=True`` only. It rebuilds its model alone (model name and arguments,
classes, normalisation) and resumes training exactly (optimizer, scheduler and RNG
states, position in the epoch). torch is imported only by the functions that need
it, so writing a text file or a picture never loads it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DataFormatError, InputNotFound, LenetError, from_os_error
from .files import atomic_write_bytes, note_input, sha256_bytes

if TYPE_CHECKING:
    import torch

__all__ = ["FORMAT", "save_checkpoint", "load_checkpoint", "build_model"]

FORMAT = "lenet-checkpoint"
VERSION = 1


def save_checkpoint(path: Path, checkpoint: dict[str, Any]) -> str:
    """Save atomically; returns the file's SHA-256. Disk errors become a LenetError."""
    import torch

    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **checkpoint}, buffer)
    payload = buffer.getvalue()
    try:
        atomic_write_bytes(path, payload)
    except OSError as exc:
        raise from_os_error(exc, f"Could not write checkpoint {path}") from None
    return sha256_bytes(payload)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a lenet checkpoint with ``weights_only=True``; anything else is refused clearly."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise InputNotFound(f"Checkpoint {path} not found")
    note_input(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" not in str(exc).lower():
            raise DataFormatError(f"{path}: not a readable checkpoint ({_first_line(exc)})") from None
        raise DataFormatError(
            f"{path}: refused to load; it holds objects that only a full unpickle could create, and that can "
            "run code. lenet loads checkpoints with weights_only=True only"
        ) from None
    except Exception as exc:  # noqa: BLE001 - torch.load fails on garbage in many ways; the file is user input
        raise DataFormatError(f"{path}: not a readable checkpoint ({_first_line(exc)})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = f"a dict with keys {sorted(map(str, data))[:8]}" if isinstance(data, dict) else type(data).__name__
        raise DataFormatError(f"{path}: not a lenet checkpoint (found {found})")
    _check_schema(data, path)
    return data


# What every checkpoint must hold to rebuild its model, and the type of each entry.
_SCHEMA = {"model": str, "model_args": dict, "classes": list, "normalization": dict, "state_dict": dict}
_NORMALIZATION = ("mean", "std", "input_size", "channels")


def _check_schema(data: dict[str, Any], path: Path) -> None:
    """Refuse (exit 65) a checkpoint that lacks what rebuilding its model needs, naming what is wrong."""
    problems = [f"no {key!r}" for key in _SCHEMA if key not in data]
    problems += [f"{key!r} is a {type(data[key]).__name__}, not a {kind.__name__}"
                 for key, kind in _SCHEMA.items() if key in data and not isinstance(data[key], kind)]
    if isinstance(data.get("normalization"), dict):
        problems += [f"no 'normalization.{key}'" for key in _NORMALIZATION if key not in data["normalization"]]
    if problems:
        raise DataFormatError(f"{path}: a damaged lenet checkpoint ({'; '.join(problems)})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]


def build_model(checkpoint: dict[str, Any], source: str | Path = "checkpoint") -> "torch.nn.Module":
    """The model a checkpoint describes, with its weights loaded; a checkpoint they do not fit is exit 65."""
    from .models import get_model

    try:
        model = get_model(checkpoint["model"], **checkpoint["model_args"])
    except (LenetError, TypeError, ValueError) as exc:  # an unknown model name, or arguments it does not take
        raise DataFormatError(f"{source}: names model {checkpoint['model']!r} with arguments "
                              f"{checkpoint['model_args']}, which cannot be built ({_first_line(exc)})") from None
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except (RuntimeError, TypeError) as exc:  # missing, unexpected or mis-shaped weights
        raise DataFormatError(f"{source}: its weights do not fit model {checkpoint['model']!r} "
                              f"({_first_line(exc)})") from None
    return model
