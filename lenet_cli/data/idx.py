"""Reading and writing IDX files (the MNIST format), gzipped or raw, with strict checks.

Every structural problem raises :class:`DataFormatError` naming the file, so a
corrupt download fails here and not halfway through training.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataFormatError

__all__ = ["read_idx", "write_idx", "IDX_TYPES"]

# IDX type code -> big-endian numpy dtype
IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {(np.dtype(v).kind, np.dtype(v).itemsize): k for k, v in IDX_TYPES.items()}


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":  # not gzipped
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: not a valid gzip file ({exc})") from None


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file into an array in native byte order; ``ndim`` is checked when given."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise DataFormatError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty'})")
    dims_count = data[3]
    header = 4 + 4 * dims_count
    if len(data) < header:
        raise DataFormatError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", dims_count, 4))
    if ndim is not None and dims_count != ndim:
        raise DataFormatError(f"{path}: expected a {ndim}-dimensional IDX file, found {dims_count} dimensions")
    dtype = np.dtype(IDX_TYPES[data[2]])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        state = "truncated" if found < expected else "longer than its header says"
        raise DataFormatError(f"{path}: file is {state} (header {dims} needs {expected} data bytes, found {found})")
    array = np.frombuffer(data, dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as IDX; gzipped when ``path`` ends in ``.gz``. Used by tests and tools."""
    path = Path(path)
    code = _CODES[(array.dtype.kind, array.dtype.itemsize)]
    big = array.astype(array.dtype.newbyteorder(">"))
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + np.ascontiguousarray(big).tobytes()
    path.write_bytes(gzip.compress(payload, compresslevel=1) if path.suffix == ".gz" else payload)
