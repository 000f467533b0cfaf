"""What ``Model.predict`` accepts, as pictures the predictor reads: files as they are, pictures in memory as PNG.

A picture in memory (a PIL image, a NumPy array, a torch tensor, a file's bytes) goes through the same
decoding and preparation as a file, so a photo gives the same answer however it is handed over. Arrays
follow the usual conventions: H x W, H x W x C or C x H x W (C: 1, 3 or 4), uint8 0..255 or floats 0..1
(``ToTensor``'s scale); a 4-D array is a batch. Nothing here imports torch.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, Union

from ..errors import InputNotFound, UsageError

if TYPE_CHECKING:
    import numpy as np
    import PIL.Image
    import torch

__all__ = ["Picture", "PictureSource", "pictures"]

Picture = tuple[Path, Union[bytes, None]]  # a name, and the bytes of a picture held in memory (None: read the file)
PictureSource = Union[str, "os.PathLike[str]", bytes, "PIL.Image.Image", "np.ndarray", "torch.Tensor"]
_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def pictures(source: PictureSource | Sequence[PictureSource], recursive: bool = False) -> tuple[list[Picture], bool]:
    """The pictures ``source`` names, in order, and whether it was one picture (not a list, folder or batch)."""
    if isinstance(source, (list, tuple)):
        found: list[Picture] = []
        for k, item in enumerate(source):
            found += _pictures_of(item, recursive, f" {k}")[0]
        return found, False
    return _pictures_of(source, recursive, "")


def _pictures_of(item: Any, recursive: bool, number: str) -> tuple[list[Picture], bool]:
    """One item of a source: a file, a folder's pictures, or pictures in memory (``number``: its place in a list)."""
    if isinstance(item, (str, os.PathLike)):
        return _files(Path(item), recursive)
    if isinstance(item, (bytes, bytearray)):
        return [(Path(f"<bytes{number}>"), bytes(item))], True
    pil = sys.modules.get("PIL.Image")
    if pil is not None and isinstance(item, pil.Image):
        return [(Path(f"<image{number}>"), _encoded(item))], True
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(item, torch.Tensor):
        return _arrays(item.detach().cpu().numpy(), f"<tensor{number}>")
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(item, numpy.ndarray):
        return _arrays(item, f"<array{number}>")
    raise UsageError(f"Cannot predict a {type(item).__name__}; give a path, a folder, a PIL image, a NumPy array, "
                     "a torch tensor, the bytes of an image file, or a list of them")


def _files(path: Path, recursive: bool) -> tuple[list[Picture], bool]:
    from ..data.images import images_in, no_images_message

    if path.is_dir():
        found = images_in(path, recursive)
        if not found:
            raise InputNotFound(no_images_message(str(path), path, recursive))
        return [(p, None) for p in found], False
    if not path.is_file():
        raise InputNotFound(f"{path}: no such file or folder")
    return [(path, None)], True


def _arrays(array: "np.ndarray", name: str) -> tuple[list[Picture], bool]:
    """An array of one picture, or a 4-D batch of them."""
    if array.ndim == 4:
        return [(Path(f"{name}[{i}]"), _encoded(_image(picture, f"{name}[{i}]"))) for i, picture in enumerate(array)], \
            False
    return [(Path(name), _encoded(_image(array, name)))], True


def _image(array: "np.ndarray", name: str) -> "PIL.Image.Image":
    """A PIL image of an H x W, H x W x C or C x H x W array."""
    from PIL import Image

    pixels = _uint8(array, name)
    if pixels.ndim == 3 and pixels.shape[-1] not in _CHANNELS and pixels.shape[0] in _CHANNELS:
        pixels = pixels.transpose(1, 2, 0)  # C x H x W (PyTorch's layout) -> H x W x C
    if pixels.ndim == 3 and pixels.shape[-1] in _CHANNELS:
        return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, _MODES[pixels.shape[-1]])
    if pixels.ndim == 2:
        return Image.fromarray(pixels, "L")
    raise UsageError(f"{name}: an array of shape {tuple(array.shape)} is not a picture; give H x W, H x W x C or "
                     "C x H x W with 1, 3 or 4 channels (N x C x H x W for several)")


def _uint8(array: "np.ndarray", name: str) -> "np.ndarray":
    """The pixels as uint8: whole numbers 0..255 as they are, booleans as 0 / 255, floats 0..1 scaled."""
    import numpy as np

    if array.size == 0:
        raise UsageError(f"{name}: an empty array is not a picture")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    low, high = float(array.min()), float(array.max())
    if np.issubdtype(array.dtype, np.integer) and 0 <= low and high <= 255:
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating) and 0.0 <= low and high <= 1.0:  # NaN fails both tests
        return np.rint(array * 255.0).astype(np.uint8)
    scale = "0..1 (floats)" if np.issubdtype(array.dtype, np.floating) else "0..255 (whole numbers)"
    raise UsageError(f"{name}: pixels must be in {scale}, not {low:g}..{high:g}; give the picture before any "
                     "normalisation")


def _encoded(image: "PIL.Image.Image") -> bytes:
    """The image as a lossless file: PNG, or TIFF for the modes PNG cannot hold (32-bit float, CMYK)."""
    buffer = io.BytesIO()
    try:
        image.save(buffer, format="PNG", compress_level=1)
    except (OSError, KeyError, ValueError):
        buffer = io.BytesIO()
        image.save(buffer, format="TIFF")
    return buffer.getvalue()
