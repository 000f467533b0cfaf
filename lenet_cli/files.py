"""The ground floor: the one atomic writer, text and JSON output, and hashes.

Every file the tool writes goes through ``atomic_write_bytes``: a temp file beside the
target, fsync, then ``os.replace``, so a reader never sees half a file and a failure
leaves the old one. Within a command (``input_scope``), every file a reader notes as an
input (``note_input``) is safe from that command's outputs: the writer refuses to replace
it (exit 2), whatever name reaches it (a link, ``./``, another spelling). Nothing here
imports torch.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Iterator

from .errors import UsageError, from_os_error

__all__ = [
    "atomic_write_bytes", "write_text", "write_json", "json_text", "temp_file_beside", "remove_stale_temp_files",
    "sha256_bytes", "sha256_file", "temp_beside", "input_scope", "note_input", "forget_input",
    "signals_held", "holding_signals",
]

# The inputs of the commands under way, innermost last: (device, inode) of each file, so any name of it matches.
_INPUT_SCOPES: list[set[tuple[int, int]]] = []


@contextlib.contextmanager
def input_scope() -> Iterator[None]:
    """One command: the files it reads (``note_input``) cannot be replaced by what it writes."""
    _INPUT_SCOPES.append(set())
    try:
        yield
    finally:
        _INPUT_SCOPES.pop()


def _identity(path: str | Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except (OSError, ValueError):  # missing, unreadable, or a name no file can have
        return None
    return status.st_dev, status.st_ino


def note_input(path: str | Path) -> None:
    """Mark ``path`` as an input of the command under way (outside a command, nothing to protect)."""
    if _INPUT_SCOPES and (identity := _identity(path)) is not None:
        _INPUT_SCOPES[-1].add(identity)


def forget_input(path: str | Path) -> None:
    """An input the command is meant to replace after all: a resumed run continues its own last.pt."""
    if _INPUT_SCOPES and (identity := _identity(path)) is not None:
        _INPUT_SCOPES[-1].discard(identity)


def _refuse_to_replace_an_input(path: Path) -> None:
    if _INPUT_SCOPES and _INPUT_SCOPES[-1] and _identity(path) in _INPUT_SCOPES[-1]:
        raise UsageError(f"{path} is an input of this command; refusing to write over it (choose another output)")


_HELD: list[int] = []  # depth of the sections where an interrupt waits
_WAITING: list[int] = []  # signals that arrived in one


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait (not lost) while a temp file is created and handed to its cleanup; the
    interrupt comes when the section ends. The CLI's signal handlers ask ``holding_signals`` first."""
    _HELD.append(1)
    try:
        yield
    finally:
        _HELD.pop()
        if not _HELD and _WAITING:
            _WAITING.clear()
            raise KeyboardInterrupt


def holding_signals(signum: int) -> bool:
    """Whether a section holds signals now; if so, ``signum`` waits for its end."""
    if _HELD:
        _WAITING.append(signum)
    return bool(_HELD)


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


@contextlib.contextmanager
def temp_beside(path: Path) -> Iterator[Path]:
    """An empty temp file beside ``path`` for the caller to fill and ``os.replace`` onto it; gone at the end.

    Refuses (exit 2) when ``path`` is an input of the command under way, before anything is written.
    """
    path = Path(path)
    _refuse_to_replace_an_input(path)
    tmp = None
    try:
        with signals_held():  # a signal between mkstemp and this try would leave the temp file behind
            fd, name = temp_file_beside(path)
            os.close(fd)
            tmp = Path(name)
        yield tmp
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write via a temp file in the same directory, fsync, then os.replace: never a half file, never over an input."""
    with temp_beside(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


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
