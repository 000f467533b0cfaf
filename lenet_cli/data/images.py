"""Reading real-world image files and preparing them the way MNIST digits were prepared.

The ``mnist`` preparation follows the MNIST authors: grey, light ink on a dark
background, contrast stretched, cropped to the ink, fitted into 20x20 keeping the
aspect ratio, and centred by centre of mass in a 28x28 field.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import DataFormatError

__all__ = ["open_image", "prepare_mnist", "prepare_resize", "PREPROCESS_MODES", "IMAGE_SUFFIXES", "MAX_PIXELS"]

PREPROCESS_MODES = ("mnist", "resize", "none")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm")
MAX_PIXELS = 50_000_000  # larger images are refused as possible decompression bombs


def open_image(path: Path):
    """Decode ``path`` fully into an upright ``L``, ``LA``, ``RGB`` or ``RGBA`` image, or raise DataFormatError."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        if path.stat().st_size == 0:
            raise DataFormatError(f"{path}: empty file")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise DataFormatError(f"{path}: {img.width}x{img.height} pixels is too large (decompression bomb?)")
                img.seek(0)  # first frame of animations
                img.load()
                img = ImageOps.exif_transpose(img)
                return _normalise_mode(img)
    except DataFormatError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataFormatError(f"{path}: refused, possible decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise DataFormatError(f"{path}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DataFormatError(f"{path}: unreadable image ({exc})") from None


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
            top = max(float(array.max()), 1.0)
        return Image.fromarray(np.clip(array / top * 255.0, 0, 255).astype(np.uint8), "L")
    if mode == "1":
        return img.convert("L")
    if mode in ("P", "PA"):
        return img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB")
    return img.convert("RGBA" if "A" in mode else "RGB")  # CMYK, YCbCr, LAB, HSV, La, RGBa ...


def _grey_with_alpha(img) -> np.ndarray:
    """Grey levels 0..1; transparent areas become a background that contrasts with the ink."""
    has_alpha = img.mode in ("LA", "RGBA")
    grey = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    if not has_alpha:
        return grey
    alpha = np.asarray(img.getchannel("A"), dtype=np.float32) / 255.0
    if alpha.min() > 0.98:
        return grey
    opaque = alpha > 0.5
    ink_is_dark = not opaque.any() or float(grey[opaque].mean()) < 0.5
    background = 1.0 if ink_is_dark else 0.0
    return alpha * grey + (1.0 - alpha) * background


def prepare_mnist(img, out_size: int = 28, box: int = 20) -> np.ndarray:
    """uint8 ``out_size`` x ``out_size``: light ink on black, the digit fitted in ``box`` and centred by mass."""
    from PIL import Image

    x = _grey_with_alpha(img)
    h, w = x.shape
    frame = max(1, min(h, w) // 20)
    border = np.concatenate([x[:frame].ravel(), x[-frame:].ravel(), x[:, :frame].ravel(), x[:, -frame:].ravel()])
    if float(np.median(border)) > 0.5:  # dark ink on light paper: MNIST is light on dark
        x = 1.0 - x
    x = _flatten_background(x)
    # Otsu's threshold separates ink from paper even under uneven lighting and noise.
    threshold = _otsu(x)
    ink = x > threshold
    paper = x[~ink]
    if not ink.any() or paper.size == 0 or float(x[ink].mean()) - float(paper.mean()) < 0.1:
        return np.zeros((out_size, out_size), np.uint8)  # no ink to speak of
    low = float(np.median(paper)) + 3.0 * float(np.std(paper))  # above paper texture and noise
    low = min(low, threshold)
    high = max(float(np.percentile(x[ink], 95)), low + 1e-3)
    x = np.clip((x - low) / (high - low), 0.0, 1.0)
    rows, cols = _ink_span(ink.sum(1)), _ink_span(ink.sum(0))
    crop = x[rows[0] : rows[1] + 1, cols[0] : cols[1] + 1]
    ch, cw = crop.shape
    scale = box / max(ch, cw)
    nh, nw = max(1, round(ch * scale)), max(1, round(cw * scale))
    patch = Image.fromarray((crop * 255).astype(np.uint8), "L").resize((nw, nh), Image.LANCZOS)
    small = np.asarray(patch, dtype=np.float32)
    if small.max() > 0:
        small = small * (255.0 / small.max())  # thin strokes fade when shrunk: restore full contrast
    total = small.sum()
    cy, cx = ((np.arange(nh) @ small.sum(1)) / total, (np.arange(nw) @ small.sum(0)) / total) if total else (nh / 2, nw / 2)
    top = int(np.clip(round(out_size / 2 - 0.5 - cy), 0, out_size - nh))
    left = int(np.clip(round(out_size / 2 - 0.5 - cx), 0, out_size - nw))
    canvas = np.zeros((out_size, out_size), np.float32)
    canvas[top : top + nh, left : left + nw] = small
    return np.clip(canvas, 0, 255).astype(np.uint8)


def _flatten_background(x: np.ndarray, blocks: int = 4) -> np.ndarray:
    """Subtract uneven lighting: each tile's paper level, smoothly interpolated between tiles.

    Strokes are thin, so the lower quartile of a tile is its paper level even where ink is thick.
    """
    from PIL import Image

    h, w = x.shape
    if min(h, w) < 4 * blocks:
        return x - float(np.median(x))
    by, bx = h // blocks, w // blocks
    tiles = x[: by * blocks, : bx * blocks].reshape(blocks, by, blocks, bx).transpose(0, 2, 1, 3)
    levels = np.percentile(tiles.reshape(blocks, blocks, -1), 25, axis=2).astype(np.float32)
    background = np.asarray(Image.fromarray(levels, "F").resize((w, h), Image.BILINEAR))
    return np.clip(x - background, 0.0, 1.0)


def _otsu(x: np.ndarray) -> float:
    """The grey level (0..1) that best splits ``x`` into two classes (Otsu 1979)."""
    hist = np.bincount(np.clip(x * 255, 0, 255).astype(np.int64).ravel(), minlength=256).astype(np.float64)
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * np.arange(256))
    total_weight, total_mean = weight[-1], mean[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * weight - mean * total_weight) ** 2 / (weight * (total_weight - weight))
    if np.isnan(between[:-1]).all():  # a single grey level: no split, no ink
        return 1.0
    return (int(np.nanargmax(between[:-1])) + 0.5) / 255.0


def _ink_span(mass: np.ndarray) -> tuple[int, int]:
    """First and last index holding the central 99 % of the ink (stray specks are ignored)."""
    cumulative = np.cumsum(mass)
    total = cumulative[-1]
    start = int(np.searchsorted(cumulative, total * 0.005))
    end = int(np.searchsorted(cumulative, total * 0.995))
    return start, min(max(end, start), len(mass) - 1)


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
