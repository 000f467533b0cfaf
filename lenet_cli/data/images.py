"""Image files opened safely (any mode, EXIF orientation, size limits), and the plain preparations.

The ``mnist`` preparation, which finds the digit on real paper, is ``reading.prepare``.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, ImageTooLarge
from ..files import note_input
from .specs import PREPROCESS_MODES

__all__ = ["open_image", "prepare_resize", "prepare_none", "images_in", "no_images_message", "PREPROCESS_MODES",
           "IMAGE_SUFFIXES", "MAX_PIXELS"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm")
MAX_PIXELS = 50_000_000  # larger images are refused as possible decompression bombs


def images_in(directory: Path, recursive: bool) -> list[Path]:
    """The image files in a folder (and its subfolders when ``recursive``), sorted."""
    found = directory.rglob("*") if recursive else directory.iterdir()
    return sorted(p for p in found if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def no_images_message(item: str, directory: Path, recursive: bool) -> str:
    """Why a folder named ``item`` gave no picture: what was looked for, and -r when it would help."""
    where = "in this folder or its subfolders" if recursive else "in this folder"
    hint = "; add -r to look in subfolders" if not recursive and any(p.is_dir() for p in directory.iterdir()) else ""
    return f"{item}: no image files ({', '.join(IMAGE_SUFFIXES)}) {where}{hint}"


def open_image(path: Path, data: bytes | None = None, reduce_to: int | None = None):
    """Decode ``path`` (or ``data``, the bytes of a file called ``path``) fully into an upright ``L``,
    ``LA``, ``RGB`` or ``RGBA`` image, or raise DataFormatError.

    ``reduce_to``: the caller shrinks the picture to this many pixels a side anyway, so a JPEG that is
    at least twice as large is decoded at 1/2, 1/4 or 1/8 of its size, still at least ``reduce_to``
    a side (DCT scaling, as Pillow's ``thumbnail`` does): large photos decode many times faster.
    """
    import io

    from PIL import Image, UnidentifiedImageError

    if data is None:
        note_input(path)
    try:
        if (len(data) if data is not None else path.stat().st_size) == 0:
            raise DataFormatError(f"{path}: empty file")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # Pillow warns about what it worked around (corrupt EXIF, a short read it padded, palette
            # transparency): the picture was read, so the user hears nothing; what it could not read raises.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path if data is None else io.BytesIO(data)) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise ImageTooLarge(f"{path}: {img.width}x{img.height} pixels is too large (decompression bomb?)")
                img.seek(0)  # first frame of animations
                if reduce_to is not None:
                    img.draft(img.mode, (reduce_to, reduce_to))  # only JPEG decoders act on it
                img.load()
                return _normalise_mode(_upright(img))
    except DataFormatError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"{path}: refused, possible decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise DataFormatError(f"{path}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DataFormatError(f"{path}: unreadable image ({exc})") from None


def _upright(img):
    """The picture turned as its EXIF (or XMP) orientation says; as stored when that is missing or too
    damaged to read: the pixels were read, and a picture is not refused for its metadata."""
    from PIL import Image

    try:
        orientation = img.getexif().get(0x0112, 1)
    except (SyntaxError, ValueError, TypeError, KeyError, IndexError, OSError, struct.error):
        return img
    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}.get(orientation) if isinstance(orientation, int) else None
    return img if method is None else img.transpose(method)


def _normalise_mode(img):
    """Every Pillow mode -> L, LA, RGB or RGBA; 16/32-bit greys are scaled, not clipped."""
    from PIL import Image

    mode = img.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return img.copy()
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(array.max()), 255.0)
        if mode == "F":
            array = _finite_pixels(array)
            top = max(float(array.max()), 1.0)
        return Image.fromarray(np.clip(array / top * 255.0, 0, 255).astype(np.uint8), "L")
    if mode == "1":
        return img.convert("L")
    if mode in ("P", "PA"):
        return img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB")
    return img.convert("RGBA" if "A" in mode else "RGB")  # CMYK, YCbCr, LAB, HSV, La, RGBa ...


def _finite_pixels(array: np.ndarray) -> np.ndarray:
    """A float picture's NaN as 0 and infinities as its least / greatest finite value, so that no pixel
    becomes an arbitrary byte on its way to uint8."""
    finite = array[np.isfinite(array)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return np.nan_to_num(array, nan=0.0, posinf=high, neginf=low)


def prepare_resize(img, size: tuple[int, int], channels: int) -> np.ndarray:
    """uint8 C x H x W: the whole image resized, no other change (``resize`` mode)."""
    from PIL import Image

    converted = img.convert("L" if channels == 1 else "RGB")
    if converted.size != (size[1], size[0]):
        converted = converted.resize((size[1], size[0]), Image.BILINEAR, reducing_gap=3.0)
    array = np.asarray(converted, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1).copy()


def prepare_none(img, size: tuple[int, int], channels: int, path: Path) -> np.ndarray:
    """uint8 C x H x W, taken as is; the image must already have the model's native size."""
    if (img.height, img.width) != tuple(size):
        raise DataFormatError(f"{path}: is {img.width}x{img.height}; --preprocess none needs {size[1]}x{size[0]}")
    return prepare_resize(img, size, channels)
