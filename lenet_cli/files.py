"""The ground floor: the one atomic writer, text and JSON output, and hashes.

Every file the tool writes goes through ``atomic_write_bytes``: a temp file beside the
target, fsync, then ``os.replace``, so a reader never sees half a file and a failure
leaves the old one. Nothing here imports torch.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from .errors import from_os_error

__all__ = [
    "atomic_write_bytes", "write_text", "write_json", "json_text", "temp_file_beside", "remove_stale_temp_files",
    "sha256_bytes", "sha256_file",
]


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
