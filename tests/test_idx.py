from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from lenet_cli.data.idx import read_idx, write_idx
from lenet_cli.errors import DataFormatError


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip(tmp_path: Path, suffix: str, dtype: type) -> None:
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path, ndim=3)
    assert back.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(back, array)


def test_header_is_big_endian_mnist_layout(tmp_path: Path) -> None:
    write_idx(tmp_path / "l", np.array([7, 2], np.uint8))
    assert (tmp_path / "l").read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 2])


def test_truncated_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataFormatError, match="truncated") as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 65


def test_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataFormatError, match="magic"):
        read_idx(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"")
    with pytest.raises(DataFormatError, match="magic"):
        read_idx(path)


def test_bad_gzip(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    good = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]))
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataFormatError, match="gzip"):
        read_idx(path)


def test_wrong_number_of_dimensions(tmp_path: Path) -> None:
    write_idx(tmp_path / "x", np.zeros((3, 4), np.uint8))
    with pytest.raises(DataFormatError, match="3-dimensional"):
        read_idx(tmp_path / "x", ndim=3)


def test_trailing_garbage_is_rejected(tmp_path: Path) -> None:
    write_idx(tmp_path / "x", np.zeros(3, np.uint8))
    (tmp_path / "x").write_bytes((tmp_path / "x").read_bytes() + b"junk")
    with pytest.raises(DataFormatError, match="longer"):
        read_idx(tmp_path / "x")
