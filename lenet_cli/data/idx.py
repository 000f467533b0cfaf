"""Reading and writing IDX files (the MNIST format), gzipped or raw, with strict checks.

Every structural problem raises :class:`DataFormatError` naming the file, so a
corrupt download fails here and not halfway through training.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import DataFormatError
from ..files import note_input

__all__ = ["read_idx", "write_idx", "IDX_TYPES"]

# IDX type code -> big-endian numpy dtype
IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {(np.dtype(v).kind, np.dtype(v).itemsize): k for k, v in IDX_TYPES.items()}


# The largest payload a header may declare (EMNIST byclass, the largest MNIST-like set, is 0.55 GB):
# a file that claims more is refused before anything is decompressed.
MAX_PAYLOAD_BYTES = 4 << 30


def _open(path: Path) -> BinaryIO:
    """The file's bytes as a stream, decompressed on the fly when it is gzipped."""
    handle = open(path, "rb")
    if handle.read(2) == b"\x1f\x8b":
        handle.seek(0)
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    handle.seek(0)
    return handle


def _read_exactly(stream: BinaryIO, count: int, path: Path) -> bytes:
    try:
        return stream.read(count)
    except (OSError, EOFError, zlib.error) as exc:
        if not isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)) and exc.errno is not None:
            raise  # a real I/O error (permission, device), not a bad gzip stream
        raise DataFormatError(f"{path}: not a valid gzip file ({exc})") from None


def _read_header(stream: BinaryIO, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    magic = _read_exactly(stream, 4, path)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES:
        raise DataFormatError(f"{path}: not an IDX file (bad magic number {magic.hex() or 'empty'})")
    raw_dims = _read_exactly(stream, 4 * magic[3], path)
    if len(raw_dims) < 4 * magic[3]:
        raise DataFormatError(f"{path}: truncated IDX header")
    return np.dtype(IDX_TYPES[magic[2]]), tuple(int(d) for d in np.frombuffer(raw_dims, ">u4"))


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file into an array in native byte order; ``ndim`` is checked when given.

    The header's declared size is checked before the data is read, so a file that claims
    more than ``MAX_PAYLOAD_BYTES`` (or a gzip bomb behind a plausible header) costs nothing.
    """
    path = Path(path)
    note_input(path)
    with _open(path) as stream:
        dtype, dims = _read_header(stream, path)
        if ndim is not None and len(dims) != ndim:
            raise DataFormatError(f"{path}: expected a {ndim}-dimensional IDX file, found {len(dims)} dimensions")
        expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
        if expected > MAX_PAYLOAD_BYTES:
            raise DataFormatError(f"{path}: header {dims} declares {expected:,} data bytes, more than any "
                                  f"MNIST-like dataset ({MAX_PAYLOAD_BYTES:,} at most)")
        data = _read_exactly(stream, expected + 1, path)  # one byte more reveals a file longer than declared
    found = len(data)
    if found != expected:
        state = "truncated" if found < expected else "longer than its header says"
        shown = found if found < expected else f"more than {expected}"
        raise DataFormatError(f"{path}: file is {state} (header {dims} needs {expected} data bytes, found {shown})")
    array = np.frombuffer(data, dtype).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as IDX; gzipped when ``path`` ends in ``.gz``. Used by tests and tools."""
    path = Path(path)
    code = _CODES[(array.dtype.kind, array.dtype.itemsize)]
    big = array.astype(array.dtype.newbyteorder(">"))
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + np.ascontiguousarray(big).tobytes()
    path.write_bytes(gzip.compress(payload, compresslevel=1) if path.suffix == ".gz" else payload)
