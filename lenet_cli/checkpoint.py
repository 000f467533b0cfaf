"""The ground floor: the one atomic writer, and checkpoints written with it.

A checkpoint is a plain dict of tensors and Python values, read back with
``weights_only=True`` only. It rebuilds its model alone (model name and arguments,
classes, normalisation) and resumes training exactly (optimizer, scheduler and RNG
states, position in the epoch). torch is imported only by the functions that need
it, so writing a text file or a picture never loads it.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DataFormatError, InputNotFound, LenetError, from_os_error

if TYPE_CHECKING:
    import torch

__all__ = [
    "FORMAT", "save_checkpoint", "load_checkpoint", "atomic_write_bytes", "write_text", "write_json", "json_text",
    "temp_file_beside", "remove_stale_temp_files", "sha256_bytes", "sha256_file", "build_model",
]

FORMAT = "lenet-checkpoint"
VERSION = 1


def temp_file_beside(path: Path) -> tuple[int, str]:
    """A new temp file next to ``path`` (same file system, so os.replace is atomic).

    mkstemp creates it 0600; it gets the mode a plain open() would give (0666 less the
    umask), so checkpoints, plots and exports stay readable to whoever could read them before.
    """
    import tempfile  # here, not at the top: `lenet predict` prints JSON through this module, and writes nothing

    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    return fd, name


# mkstemp's names: "." + the target's name + 8 random characters + ".tmp"
_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp")


def remove_stale_temp_files(directory: Path, targets: set[str] | None = None) -> list[Path]:
    """Remove temp files our writer left in ``directory`` when a process was killed mid-write.

    Only names of our own pattern are touched, and with ``targets`` only those for these
    file names. Call it where no other process writes the same files (a run being
    resumed, an export's own output).
    """
    removed = []
    try:
        candidates = list(Path(directory).iterdir())
    except OSError:
        return removed
    for path in candidates:
        match = _TEMP_NAME.fullmatch(path.name)
        if match and (targets is None or match.group("target") in targets) and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write via a temp file in the same directory, fsync, then os.replace: never a half file."""
    path = Path(path)
    fd, tmp_name = temp_file_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def write_text(path: Path, text: str) -> None:
    """A UTF-8 text file, written atomically; disk errors become a LenetError."""
    try:
        atomic_write_bytes(path, text.encode("utf-8"))
    except OSError as exc:
        raise from_os_error(exc, f"Could not write {path}") from None


def json_text(data: Any, indent: int | None = None) -> str:
    """Strict JSON: NaN and infinities become null (they are not JSON); other objects become strings."""
    return json.dumps(_finite(data), indent=indent, default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def write_json(path: Path, data: Any) -> None:
    """Indented strict JSON, written atomically."""
    write_text(path, json_text(data, indent=2) + "\n")


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


def sha256_bytes(payload: bytes) -> str:
    """The SHA-256 of ``payload`` (hashlib loads here: `lenet predict` imports this module and hashes nothing)."""
    import hashlib

    return hashlib.sha256(payload).hexdigest()


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a lenet checkpoint with ``weights_only=True``; anything else is refused clearly."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise InputNotFound(f"Checkpoint {path} not found")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" not in str(exc).lower():
            raise DataFormatError(f"{path}: not a readable checkpoint ({_first_line(exc)})") from None
        raise LenetError(
            f"{path}: refused to load; it holds objects that only a full unpickle could create, and that can "
            "run code. lenet loads checkpoints with weights_only=True only"
        ) from None
    except Exception as exc:  # noqa: BLE001 - torch.load fails on garbage in many ways; the file is user input
        raise DataFormatError(f"{path}: not a readable checkpoint ({_first_line(exc)})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = f"a dict with keys {sorted(map(str, data))[:8]}" if isinstance(data, dict) else type(data).__name__
        raise LenetError(f"{path}: not a lenet checkpoint (found {found})")
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
