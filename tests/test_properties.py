"""Property-based tests: whatever the input, a result or a documented error, never a traceback."""

from __future__ import annotations

import gzip
import io
import json
import string
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from lenet_cli.data.idx import read_idx
from lenet_cli.data.images import open_image
from lenet_cli.reading.prepare import prepare_mnist
from lenet_cli.errors import DataFormatError, UsageError
from lenet_cli.training.config import TrainConfig, load_toml

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KEYS = [f.replace("_", "-") for f in TrainConfig.__dataclass_fields__] + ["learning-rate", "epoks", "x"]
SCALARS = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                    st.text(string.printable, max_size=12))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.sampled_from(KEYS), SCALARS, max_size=2))


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + "}"


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6), st.booleans())
def test_any_config_file_is_accepted_or_a_usage_error(tmp_path: Path, options: dict, in_table: bool) -> None:
    lines = (["[train]"] if in_table else []) + [f'"{key}" = {_toml_value(v)}' for key, v in options.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    try:
        TrainConfig(**load_toml(path)).validate()
    except UsageError as exc:
        assert str(exc) and "\n" not in str(exc)


@SETTINGS
@given(st.binary(max_size=200), st.booleans(), st.sampled_from([None, 1, 3]))
def test_any_bytes_are_an_idx_array_or_bad_data(tmp_path: Path, payload: bytes, gz: bool, ndim: int | None) -> None:
    path = tmp_path / "file.idx"
    path.write_bytes(gzip.compress(payload) if gz else payload)
    try:
        array = read_idx(path, ndim)
    except DataFormatError as exc:
        assert str(path) in str(exc)
    else:
        assert ndim is None or array.ndim == ndim


@SETTINGS
@given(st.binary(min_size=4, max_size=40), st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4))
def test_idx_headers_of_any_size_are_checked_before_reading(tmp_path: Path, body: bytes, dims: list[int]) -> None:
    path = tmp_path / "header.idx.gz"
    header = bytes([0, 0, 0x08, len(dims)]) + np.asarray(dims, ">u4").tobytes()
    path.write_bytes(gzip.compress(header + body))
    try:
        array = read_idx(path)
    except DataFormatError as exc:
        assert "header" in str(exc) or "truncated" in str(exc) or "longer" in str(exc)
    else:
        assert array.shape == tuple(dims)


MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16", "F", "CMYK"]


@SETTINGS
@given(st.sampled_from(MODES), st.integers(1, 48), st.integers(1, 48), st.integers(0, 2**32 - 1),
       st.sampled_from(["PNG", "TIFF", "BMP", "GIF"]))
def test_any_small_image_prepares_to_28x28_or_is_bad_data(tmp_path: Path, mode: str, width: int, height: int,
                                                          seed: int, fmt: str) -> None:
    rng = np.random.default_rng(seed)
    picture = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    try:
        picture.save(buffer, format=fmt)
    except (OSError, ValueError, KeyError):
        assume(False)  # Pillow cannot write this mode in this format: not an input anyone can have
    path = tmp_path / f"image.{fmt.lower()}"
    path.write_bytes(buffer.getvalue())
    try:
        prepared = prepare_mnist(open_image(path))
    except DataFormatError as exc:
        assert str(path) in str(exc)
    else:
        assert prepared.shape == (28, 28) and prepared.dtype == np.uint8
