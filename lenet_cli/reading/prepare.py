"""Preparing a photo of a digit, or of a row of digits, the way MNIST digits were prepared.

The ``mnist`` preparation follows the MNIST authors: grey, light ink on a dark
background, contrast stretched, cropped to the ink, fitted into 20x20 keeping the
aspect ratio, and centred by centre of mass in a 28x28 field.
"""

from __future__ import annotations

import numpy as np

from .graph import Arc
from .ink import InkMap, find_ink, percentile
from .row import Row, level_row, over_segment
from .segment import no_writing_reason, separate_digits, writing

__all__ = ["prepare_mnist", "prepare_row", "arc_images", "fit_and_centre", "WORKING_SIDE", "ROW_SIDE"]

WORKING_SIDE = 256  # larger pictures are reduced to this many pixels a side before looking for ink
ROW_SIDE = 64  # but a row of digits keeps at least this many pixels on its short side (a long strip stays legible)


def _rgb(img, row: bool = False) -> tuple[np.ndarray, float]:
    """8-bit RGB at most WORKING_SIDE a side (for a ``row``, keeping at least ROW_SIDE on the short side), and
    the factor back to the picture's pixels.

    Transparent areas become a background that contrasts with the opaque ink.
    """
    from PIL import Image

    has_alpha = img.mode in ("LA", "RGBA")
    converted = img.convert("RGBA" if has_alpha else "RGB")
    scale = max(converted.size) / WORKING_SIDE
    if row:
        scale = min(scale, min(converted.size) / ROW_SIDE)
    scale = max(scale, 1.0)
    if scale > 1.0:
        converted = converted.resize((max(1, round(converted.width / scale)), max(1, round(converted.height / scale))),
                                     Image.BOX)
    array = np.asarray(converted)
    if not has_alpha or array[..., 3].min() > 250:
        return np.ascontiguousarray(array[..., :3]), scale
    alpha, colour = array[..., 3:].astype(np.float32) / 255.0, array[..., :3].astype(np.float32)
    opaque = alpha[..., 0] > 0.5
    ink_is_dark = not opaque.any() or float(colour[opaque].mean()) < 127.5
    blended = alpha * colour + (1.0 - alpha) * (255.0 if ink_is_dark else 0.0)
    return np.rint(blended).astype(np.uint8), scale


def prepare_mnist(img, out_size: int = 28, box: int = 20, stages: dict | None = None) -> np.ndarray:
    """uint8 ``out_size`` x ``out_size``: light ink on black, the digit fitted in ``box`` and centred by mass.

    ``stages``, when given, receives the intermediate pictures (picture, ink, rules removed, crop) by
    name, and ``glyphs``: how many digits side by side the picture seems to hold.
    """
    ink, _ = _find_ink(img, stages)
    labels, pieces = ink.labels, ink.pieces
    kept = writing(pieces, labels.shape)
    if not kept and stages is not None:
        stages["no_digit"] = no_writing_reason(pieces, labels.shape)
    region = _near(np.isin(labels, [p.label for p in kept])) if kept else np.zeros_like(ink.mask)
    digit = np.where(region, ink.strength, 0.0)
    if stages is not None:
        stages["glyphs"] = separate_digits(pieces, labels)
    if not kept:
        return np.zeros((out_size, out_size), np.uint8)
    x0, y0 = min(p.x0 for p in kept), min(p.y0 for p in kept)
    x1, y1 = max(p.x1 for p in kept), max(p.y1 for p in kept)
    return fit_and_centre(digit[y0:y1, x0:x1], ink.mask[y0:y1, x0:x1], out_size, box, stages)


def prepare_row(img, stages: dict | None = None) -> tuple[Row | None, float]:
    """The writing of a row of digits, levelled and cut into pieces (see ``row``), and the factor from the
    working picture back to ``img``'s pixels; None when the picture holds no writing (``stages["no_digit"]``
    then says why)."""
    ink, scale = _find_ink(img, stages, row=True)
    kept = writing(ink.pieces, ink.labels.shape)
    if not kept:
        if stages is not None:
            stages["no_digit"] = no_writing_reason(ink.pieces, ink.labels.shape)
        return None, scale
    mask = np.isin(ink.labels, [p.label for p in kept])
    x0, y0 = max(0, min(p.x0 for p in kept) - 2), max(0, min(p.y0 for p in kept) - 2)
    x1, y1 = max(p.x1 for p in kept) + 2, max(p.y1 for p in kept) + 2
    strength = np.where(_near(mask), ink.strength, 0.0)[y0:y1, x0:x1]
    strength, levelled_mask, angle, to_crop = level_row(strength, mask[y0:y1, x0:x1])
    to_crop[:, 2] += (x0, y0)  # the crop's corner in the working picture
    return over_segment(strength, levelled_mask, angle, to_crop), scale


def arc_images(row: Row, arcs: list[Arc], out_size: int = 28, box: int = 20) -> np.ndarray:
    """Each arc's pieces (and the soft edge around them) prepared as an MNIST digit: uint8 N x 1 x S x S."""
    images = np.zeros((len(arcs), 1, out_size, out_size), np.uint8)
    for n, arc in enumerate(arcs):
        x0, y0, x1, y1 = arc.box
        atoms = row.atoms[y0:y1, x0:x1]
        chosen = (atoms >= arc.first) & (atoms <= arc.last)
        edge = _near(chosen) & ((atoms == 0) | chosen)  # a stroke's soft edge, never a neighbour's ink
        images[n, 0] = fit_and_centre(np.where(edge, row.strength[y0:y1, x0:x1], 0.0), chosen, out_size, box)
    return images


def _find_ink(img, stages: dict | None, row: bool = False) -> tuple[InkMap, float]:
    """The picture's ink, and the factor back to its pixels; the stages so far go into ``stages``."""
    rgb, scale = _rgb(img, row)
    ink = find_ink(rgb)
    if stages is not None:
        stages.update({"picture": rgb, "ink": ink.raw, "rules removed": ink.strength})
    return ink, scale


def _near(region: np.ndarray) -> np.ndarray:
    """``region`` grown by a pixel: the soft edges of strokes belong to them."""
    h, w = region.shape
    padded = np.zeros((h + 2, w + 2), bool)
    padded[1:-1, 1:-1] = region
    grown = np.zeros_like(region)
    for dy in range(3):
        for dx in range(3):
            grown |= padded[dy : dy + h, dx : dx + w]
    return grown


def fit_and_centre(crop: np.ndarray, ink: np.ndarray, out_size: int = 28, box: int = 20,
                   stages: dict | None = None) -> np.ndarray:
    """One digit's ink strength (0..1, cropped to it) fitted into ``box`` and centred by mass, as MNIST was."""
    from PIL import Image

    if ink.any():  # strokes at full strength, as MNIST's are
        crop = np.clip(crop / max(percentile(crop[ink], 90), 1e-3), 0.0, 1.0)
    if stages is not None:
        stages["crop"] = crop
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
