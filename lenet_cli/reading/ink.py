"""Finding the ink on real paper: coloured card, ruled and squared notebooks, pencil in bad light.

The steps a person takes without noticing, with OpenCV and NumPy on a picture of at most 256 pixels a side,
and no constant that belongs to one kind of picture: every level is measured on the picture itself.

1. estimate the paper and its light (``paper_colour``): which side the ink departs to (darker pen and
   pencil, lighter chalk) from a median much wider than a stroke; the paper's lightness from a closing
   wider than any stroke, which follows a gradient and a shadow's edge; its colour from the median of
   the pixels whose lightness is the paper's;
2. measure each pixel's contrast to that local paper in CIELAB (``ink_departure``): lightness on the ink's
   side and chroma, so blue pen on purple card is ink as much as black pen on white;
3. estimate the paper's noise from the picture (``noise_floor``) and keep as ink what stands clearly above
   it, grown into fainter pixels connected to it (hysteresis);
4. remove ruled and grid lines (``remove_rules``): long thin straight bands that cross most of the picture,
   where they look like the line (its colour, not darker or of another colour) and no stroke crosses them;
5. label the connected pieces of ink (``components``) with what a reader looks at: stroke width (from a
   distance transform), contrast in Delta E and in noise units, how sharply the paper around them is
   clean, contact with the picture's edge and with removed rules. ``segment`` chooses the writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["InkMap", "Component", "find_ink", "paper_colour", "noise_floor", "remove_rules",
           "components", "median", "percentile", "ink_departure", "contrast_of"]

_LOW_SIDE = 64  # the paper is estimated on a copy this many pixels on its short side
_PAPER_WINDOW = 0.35  # the median's window, as a share of the short side: several strokes wide
_CLOSING = 0.25  # the closing's window, as a share of the short side: wider than a pen's stroke, to follow the light
_MARKER = 0.4  # a stroke this share of the closing's width is a marker's, which a wider closing must take
_WIDEST_CLOSING = 0.6  # the widest closing, as a share of the short side
_GOES_ON = 4  # ink going on this many pixels past a rule is a stroke, not the rule's soft edge
_SEEN = 2.0  # Delta E 1976 below which people see no difference: nothing fainter is ink
_HALVED_FROM = 64  # rules are looked for on a copy of half the size of pictures this many pixels a side or more
_RULE_THICKNESS = 0.06  # a rule is thinner than this share of the short side (or a fifteenth of its length)
_SLOPES = np.tan(np.radians(np.arange(-4.0, 4.01, 0.5)))  # rules may be tilted a few degrees in a photo


@dataclass
class Component:
    """A connected piece of ink: its box (x0, y0, x1, y1, exclusive ends), pixel count and what it looks like.

    ``stroke``: its stroke width in pixels (from the mean distance of its pixels to the paper);
    ``contrast``: its mean contrast to the paper (Delta E); ``clarity``: that contrast in multiples of
    the paper's noise; ``sharpness``: how much weaker the contrast is in a ring two pixels wide around
    it (1 - ring / contrast: near 1 for a stroke, low for a blotch that fades into the paper);
    ``border``: how much of it lies on the picture's edge (see ``_on_edge``); ``on_rules``: the share
    of its pixels on a ruled line that was removed.
    """

    x0: int
    y0: int
    x1: int
    y1: int
    area: int
    label: int
    stroke: float = 1.0
    contrast: float = 0.0
    clarity: float = 0.0
    sharpness: float = 0.0
    border: float = 0.0
    on_rules: float = 0.0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass
class InkMap:
    """Ink evidence of one picture, light on dark like MNIST; the stages are kept for pictures."""

    strength: np.ndarray  # float32 H x W in 0..1, rules removed
    mask: np.ndarray  # bool H x W: ink, rules removed
    raw: np.ndarray  # float32 H x W in 0..1: ink strength before rules were removed
    labels: np.ndarray  # int32 H x W: which piece of ink each pixel belongs to (0: none)
    pieces: list[Component]  # the connected pieces of the mask
    noise: float = 0.0  # the paper's noise: a robust standard deviation of the contrast, in Delta E


def find_ink(rgb: np.ndarray) -> InkMap:
    """Ink of an RGB picture (uint8, or float 0..1, H x W x 3): strength, mask, pieces, and the map before rules
    were removed.

    The paper's closing is as narrow as it can be, to follow the light closely; when the largest piece of
    ink turns out to be a marker's stroke nearly as wide as the closing (which then leaves its middle as
    paper), the paper is estimated again with a closing three strokes wide.
    """
    lab = _lab(rgb)
    ink = _ink_with_closing(lab, _CLOSING)
    largest = max(ink.pieces, key=lambda p: p.area, default=None)
    side = min(lab.shape[:2])
    if largest is not None and largest.border < 0.7 and largest.stroke > _MARKER * _CLOSING * side:
        ink = _ink_with_closing(lab, min(_WIDEST_CLOSING, 3.0 * largest.stroke / side))
    return ink


def _ink_with_closing(lab: np.ndarray, closing: float) -> InkMap:
    """``find_ink`` with the paper's closing ``closing`` times the short side wide."""
    paper, darker = paper_colour(lab, closing)
    departure = ink_departure(lab, paper, darker)
    contrast = contrast_of(departure)
    floor, noise = noise_floor(contrast)
    scale = max(percentile(_sample(contrast), 99.5), floor + 4.0 * noise + _SEEN)
    cleaned, lines = remove_rules(contrast, contrast > floor, departure, floor)
    visible = cleaned > floor
    strips = _border_strips(visible)
    labels, pieces = _hysteresis(visible & ~strips, contrast, floor, noise)
    mask = labels > 0
    return InkMap(_stretch(cleaned, floor, scale), mask, _stretch(contrast, floor, scale), labels,
                  _describe(pieces, labels, cleaned, noise, lines, strips), noise)


def _stretch(contrast: np.ndarray, floor: float, scale: float) -> np.ndarray:
    """Contrast -> ink strength 0..1: the paper's noise ``floor`` at 0, the strong ink (``scale``) at 1."""
    return np.clip((contrast - floor) / (scale - floor), 0.0, 1.0).astype(np.float32)


def _border_strips(visible: np.ndarray) -> np.ndarray:
    """The ink that runs along the picture's edge, within a few pixels of it, for longer than a digit's stroke
    is wide: the edge of the paper, of a shadow, or of a scan. A digit cut by the edge crosses it."""
    depth = _strip_depth(visible.shape)
    strips = np.zeros_like(visible)
    for view, out in ((visible, strips), (visible.T, strips.T)):  # top and bottom, then left and right
        longest = max(3 * depth, round(0.15 * view.shape[1]))
        for rows in (np.s_[:depth], np.s_[-depth:]):
            part = view[rows]
            out[rows] |= part & _long_runs(part.any(0), longest)[None, :]
    return strips


def _strip_depth(shape: tuple[int, ...]) -> int:
    """How far from the picture's edge a strip along it is looked for."""
    return max(2, round(min(shape) * 0.03))


def _long_runs(profile: np.ndarray, longest: int) -> np.ndarray:
    """The places of ``profile`` (bool) that belong to a run of True longer than ``longest``."""
    edges = np.diff(np.concatenate([[0], profile.astype(np.int8), [0]]))
    starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    out = np.zeros(profile.shape, bool)
    for a, b in zip(starts, stops):
        if b - a > longest:
            out[a:b] = True
    return out


def _inner(shape: tuple[int, ...], depth: int) -> np.ndarray:
    """The picture but for ``depth`` pixels along its edge."""
    inner = np.zeros(shape[:2], bool)
    inner[depth:-depth, depth:-depth] = True
    return inner


def _lab(rgb: np.ndarray) -> np.ndarray:
    """8-bit CIELAB (L* x 2.55, a* + 128, b* + 128, as 8-bit pictures store it) of an RGB picture, lightly
    smoothed against sensor noise; one channel (L*) for a grey picture, whose a* and b* are 0 throughout.

    Computed here rather than by cv2.cvtColor, whose first Lab conversion in a process builds large tables:
    longer than reading one picture takes.
    """
    import cv2

    pixels = rgb if rgb.dtype == np.uint8 else (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    pixels = cv2.GaussianBlur(np.ascontiguousarray(pixels[..., :3]), (0, 0), 0.8)  # strokes are wider than noise
    if np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2]):
        return _LIGHTNESS[pixels[..., 0]][..., None]
    f = _lab_f(_LINEAR[pixels] @ _TO_XYZ)
    lab = np.empty(pixels.shape, np.float32)
    lab[..., 0] = 2.55 * (116.0 * f[..., 1] - 16.0)
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1]) + 128.0
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2]) + 128.0
    return np.clip(lab + 0.5, 0, 255).astype(np.uint8)


def _lab_f(t: np.ndarray) -> np.ndarray:
    """CIELAB's companding of a tristimulus ratio (a cube root, and a line near black)."""
    return np.where(t > 216 / 24389, np.cbrt(t), (24389 / 27 * t + 16) / 116).astype(np.float32)


_LEVELS = np.arange(256, dtype=np.float64) / 255.0
_LINEAR = np.where(_LEVELS <= 0.04045, _LEVELS / 12.92, ((_LEVELS + 0.055) / 1.055) ** 2.4).astype(np.float32)
_LIGHTNESS = np.rint(2.55 * (116 * _lab_f(_LINEAR) - 16)).astype(np.uint8)
# Linear sRGB to CIE XYZ, each row divided by the D65 white's: X/Xn, Y/Yn, Z/Zn (applied as pixels @ _TO_XYZ).
_TO_XYZ = (np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
           / np.array([[0.95047], [1.0], [1.08883]])).T.astype(np.float32)
_UNITS = np.array([100.0 / 255.0, 1.0, 1.0], np.float32)  # 8-bit CIELAB levels to L*, a*, b*


def paper_colour(lab: np.ndarray, closing: float = _CLOSING) -> tuple[np.ndarray, bool]:
    """The paper's colour at every pixel, under the light where it lies (8-bit CIELAB, like ``lab``), and
    whether the ink is darker than the paper.

    First a median of lightness over a window several strokes wide, on a copy about 64 pixels on its short
    side: ink of either polarity covers less than half of such a window almost everywhere, so it is the
    paper, and the ink's side (darker or lighter) is read against it. The paper's lightness is then a
    closing (towards the paper's side) by an octagon ``closing`` times the short side wide, wider than the
    strokes, at full size: it removes strokes however densely they cover the paper and keeps a shadow's
    edge where it is. Its colour (a*, b*) is the median of the pixels whose lightness is not ink's.
    """
    import cv2

    h, w = lab.shape[:2]
    lightness = np.ascontiguousarray(lab[..., 0])
    first = _low_median(lightness[..., None], None)[..., 0]
    darker = _ink_is_darker(first.astype(np.int16) - lightness)
    paper_lightness = _round_closing(lightness, max(3, int(min(h, w) * closing)), darker)
    if lab.shape[-1] == 1:
        return paper_lightness[..., None], darker
    departure = (paper_lightness.astype(np.int16) - lightness) * (1 if darker else -1)
    floor, _ = noise_floor(departure.astype(np.float32))
    paper = np.empty_like(lab)
    paper[..., 0] = paper_lightness
    paper[..., 1:] = _low_median(lab[..., 1:], departure <= floor)
    return paper, darker


def _round_closing(levels: np.ndarray, size: int, darker: bool) -> np.ndarray:
    """A closing (an opening for light ink) of 8-bit ``levels`` by an octagon ``size`` pixels wide: a square
    and a diamond one after the other, each fast. Rounder than a square, it follows the curved edge of a
    shadow instead of leaving slivers of it along the curve."""
    import cv2

    side = max(1, int(size * 0.414) | 1)  # a regular octagon's flat side
    reach = max(0, (size - side) // 2)
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    grow, shrink = (cv2.dilate, cv2.erode) if darker else (cv2.erode, cv2.dilate)  # towards the paper, then back
    grown = grow(grow(levels, square), cross, iterations=reach) if reach else grow(levels, square)
    return shrink(shrink(grown, square), cross, iterations=reach) if reach else shrink(grown, square)


def _low_median(levels: np.ndarray, use: np.ndarray | None) -> np.ndarray:
    """The median of each 8-bit channel of ``levels`` (H x W x C) over a window several strokes wide, of the
    pixels in ``use`` (all when None), on a copy about 64 pixels on its short side, scaled back up. A pixel
    left out is counted as the lowest and the highest level in turn (a checkerboard), which moves the
    median of a window by as little as possible."""
    import cv2

    h, w, channels = levels.shape
    factor = max(1.0, min(h, w) / _LOW_SIDE)
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    small = cv2.resize(levels, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], channels)
    if use is not None:
        kept = cv2.resize(use.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        board = (np.indices(kept.shape).sum(0) % 2 * 255).astype(np.uint8)
        small = np.where(kept[..., None], small, board[..., None])
    window = max(3, int(min(size) * _PAPER_WINDOW) | 1)
    paper = np.stack([cv2.medianBlur(np.ascontiguousarray(small[..., c]), window) for c in range(channels)], -1)
    return cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, channels)


def ink_departure(lab: np.ndarray, paper: np.ndarray, darker: bool) -> np.ndarray:
    """Each pixel's colour minus the paper's around it (L*, a*, b*; L* alone for a grey picture; from 8-bit
    CIELAB), counting lightness only on the ink's side: darker for pen and pencil, lighter for chalk. Its
    length is the pixel's ink contrast (Delta E 1976)."""
    departure = (lab.astype(np.float32) - paper) * _UNITS[: lab.shape[-1]]
    departure[..., 0] = np.maximum(departure[..., 0] * (-1.0 if darker else 1.0), 0.0)
    return departure


def contrast_of(departure: np.ndarray) -> np.ndarray:
    """The length of each pixel's departure from the paper: its ink contrast in Delta E."""
    if departure.shape[-1] == 1:
        return np.ascontiguousarray(departure[..., 0], np.float32)
    return np.sqrt((departure * departure).sum(-1)).astype(np.float32)


def _ink_is_darker(darker: np.ndarray) -> bool:
    """Polarity from the data: do the pixels that stand out from the paper around them, taken together,
    stand out darker? Departures within the paper's noise are left out: they go both ways alike."""
    sample = _sample(darker)
    middle = median(sample)
    spread = 3.0 * 1.4826 * median(np.abs(sample - middle)) + _SEEN
    darker, lighter = np.clip(sample - middle - spread, 0, None), np.clip(middle - sample - spread, 0, None)
    return float(darker.sum()) >= float(lighter.sum())


def noise_floor(contrast: np.ndarray) -> tuple[float, float]:
    """(floor, noise): the contrast above which a pixel differs visibly from the paper, and the paper's noise.

    The noise is a robust standard deviation (from the median absolute deviation, which the ink, a
    minority of the pixels, does not move); the floor is three of them above the median, and never
    under a Delta E of 2, the least people see.
    """
    sample = _sample(contrast)
    middle = median(sample)
    noise = max(1.4826 * median(np.abs(sample - middle)), 0.1)
    return max(middle + 3.0 * noise, _SEEN), noise


def _hysteresis(visible: np.ndarray, contrast: np.ndarray, floor: float, noise: float,
                ) -> tuple[np.ndarray, list[Component]]:
    """The pieces of visible ink that reach well above the paper somewhere (a light stroke stays whole; noise,
    which only just crosses the floor, goes): their label image and the pieces."""
    strong = contrast > floor + 4.0 * noise
    labels, pieces = components(visible)
    keep = np.zeros(len(pieces) + 1, bool)
    keep[labels[strong & visible]] = True
    keep[0] = False
    relabel = np.zeros(len(pieces) + 1, np.int32)
    kept = [p for p in pieces if keep[p.label]]
    for number, piece in enumerate(kept, start=1):
        relabel[piece.label] = number
        piece.label = number
    return relabel[labels], kept


def _describe(pieces: list[Component], labels: np.ndarray, contrast: np.ndarray, noise: float, lines: np.ndarray,
              strips: np.ndarray) -> list[Component]:
    """``pieces`` with their stroke width, contrast, sharpness, contact with the picture's edge (its
    outermost pixels, and the ``strips`` of ink along it) and share on rules."""
    import cv2

    if not pieces:
        return pieces
    mask, count = labels > 0, len(pieces) + 1
    area = np.maximum(np.bincount(labels[mask], minlength=count), 1)
    per_piece = lambda values: np.bincount(labels[mask], weights=values[mask], minlength=count) / area  # noqa: E731
    # Across a stroke of width s the distance to the paper runs 1, 2 .. s/2 .. 2, 1: a mean of s/4 + 1/2.
    reach = per_piece(cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3))
    level = per_piece(contrast)
    around = _around(labels, contrast, count)
    ruled = np.bincount(labels[lines & mask], minlength=count) / area
    # A rule along the picture's edge is an edge too: the edge of the paper, or of a scan.
    edge = strips | (lines & ~_inner(mask.shape, _strip_depth(mask.shape)))
    border = _edge_contact(labels, count, cv2.dilate(edge.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    for piece in pieces:
        k = piece.label
        piece.stroke = float(max(4.0 * reach[k] - 2.0, 1.0))
        piece.contrast = float(level[k])
        piece.clarity = float(level[k] / noise)
        piece.sharpness = float(1.0 - around[k] / max(level[k], 1e-6))
        piece.on_rules = float(ruled[k])
        piece.border = _on_edge([border[side][k] for side in range(4)], piece)
    return pieces


def _around(labels: np.ndarray, contrast: np.ndarray, count: int) -> np.ndarray:
    """Per piece, the mean contrast in a ring two pixels wide around it. Just outside a pen's stroke the paper
    is clean; around a blotch of light or colour, which fades into the paper, it is not."""
    import cv2

    grown = cv2.dilate(labels.astype(np.float32), np.ones((5, 5), np.uint8)).astype(np.int64)
    ring = (grown > 0) & (labels == 0)
    return np.bincount(grown[ring], weights=contrast[ring], minlength=count) / np.maximum(
        np.bincount(grown[ring], minlength=count), 1)


def _on_edge(contact: list[int], piece: Component) -> float:
    """How much ``piece`` lies on the picture's edge, from its ``contact`` with each side (left, right, top,
    bottom): the share of its length along one side that touches it, for a piece at least twice as long
    along that side as it reaches away from it (a digit near the edge reaches well into the picture); or
    in a corner, the lesser share of the two sides it fills."""
    along = [contact[0] / max(1, piece.height), contact[1] / max(1, piece.height),
             contact[2] / max(1, piece.width), contact[3] / max(1, piece.width)]
    upright, flat = piece.width <= 0.5 * piece.height, piece.height <= 0.5 * piece.width
    lying = [along[side] if (upright if side < 2 else flat) else 0.0 for side in range(4)]
    corners = [min(along[a], along[b]) for a in (0, 1) for b in (2, 3)]
    return float(max(lying + corners))


def _edge_contact(labels: np.ndarray, count: int, strips: np.ndarray) -> list[np.ndarray]:
    """Per side (left, right, top, bottom), along how many pixels of it each piece lies on the picture's edge,
    or beside a strip of ink along it (``strips``, grown by a pixel)."""
    depth = _strip_depth(labels.shape) + 2
    sides = []
    for view, zone in ((labels, strips), (labels.T, strips.T)):
        for cols in (np.s_[:depth], np.s_[-depth:]):
            part = view[:, cols] * zone[:, cols]
            part[:, 0 if cols.start is None else -1] = view[:, 0 if cols.start is None else -1]  # the edge itself
            rows, _ = np.nonzero(part)
            seen = np.zeros(len(view) * count, bool)  # each (row, piece) once; not np.unique, which imports numpy.ma
            seen[rows.astype(np.int64) * count + part[part > 0]] = True
            sides.append(np.bincount(np.flatnonzero(seen) % count, minlength=count))
    return sides


def remove_rules(contrast: np.ndarray, candidates: np.ndarray, departure: np.ndarray | None = None,
                 floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``contrast`` with the ruled and grid lines found among ``candidates`` (a mask) set to zero, and where
    those lines lie (a mask of the pixels that look like them).

    A rule is a band of ink along a straight line, at most a few degrees from horizontal or vertical,
    covering most of the picture's width (height), reaching both of its sides, and thin. In the band, what
    does not look like the rule is kept: ink of another colour or darker than it (``departure``: each
    pixel's colour minus the paper's, H x W x C; without it, ``contrast`` alone), by more than half the
    rule's own contrast and more than ``floor``. So is a stroke of the rule's colour where it crosses the
    rule (ink going on right above or below the band, other rules left out).
    """
    departure = contrast[..., None] if departure is None else departure
    along, across = _along_lines(contrast, candidates, floor)
    found = [(band, False) for band in _rule_bands(along)]
    found += [(band, True) for band in _rule_bands(np.ascontiguousarray(across.T))]
    bands, likes = [], []
    for band, vertical in found:  # each rule's look is read across it: columns of a rule turned horizontal
        like = band & _looks_like_rule(contrast.T if vertical else contrast, departure.transpose(1, 0, 2) if vertical
                                       else departure, band, floor)
        bands.append(band.T if vertical else band)
        likes.append(like.T if vertical else like)
    rule_like = np.zeros(candidates.shape, bool)
    for like in likes:
        rule_like |= like
    cleaned = contrast.copy()
    for (band, (_, vertical)), like in zip(zip(bands, found), likes):
        others = candidates & ~(rule_like & ~band)  # a stroke through this rule is not made of other rules
        if vertical:
            _erase_band(cleaned.T, others.T, band.T, like.T)
        else:
            _erase_band(cleaned, others, band, like)
    return cleaned, rule_like


def _along_lines(contrast: np.ndarray, candidates: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Where rules are looked for, across (horizontal) and down (vertical): the candidates, and the pixels
    whose contrast, averaged over a short stretch in that direction, is above ``floor``. A faint printed
    line in a noisy picture is broken pixel by pixel, and whole on average."""
    import cv2

    if floor <= 0.0:
        return candidates, candidates
    stretch = max(3, round(min(contrast.shape) * 0.04) | 1)
    across = candidates | (cv2.blur(contrast, (stretch, 1)) > floor)
    down = candidates | (cv2.blur(contrast, (1, stretch)) > floor)
    return across, down


def _looks_like_rule(contrast: np.ndarray, departure: np.ndarray, band: np.ndarray, floor: float) -> np.ndarray:
    """Which pixels of ``band`` (a near-horizontal rule) could be the rule, or its soft edge: their colour lies
    near the line from the paper to the rule's colour (the median colour of the band's strongest pixel
    across it, in the columns where that is weaker than in most)."""
    rows, cols = np.nonzero(band)
    order = np.argsort(contrast[rows, cols], kind="stable")
    across = np.zeros(band.shape[1], np.int64)  # the row of each column's strongest band pixel
    across[cols[order]] = rows[order]  # later (stronger) pixels overwrite earlier ones
    present = np.flatnonzero(np.bincount(cols, minlength=band.shape[1]))  # not np.unique: it imports numpy.ma
    peaks = contrast[across[present], present]
    # The weaker half of the peaks: a pen's stroke lying along the rule darkens some of them, never most.
    weaker = present[peaks <= median(peaks)]
    rule = np.array([median(channel) for channel in departure[across[weaker], weaker].T], np.float32)
    size = float(np.dot(rule, rule))
    like = np.zeros(band.shape, bool)
    if size <= 0.0:
        like[rows, cols] = True
        return like
    colours = departure[rows, cols]
    t = np.clip(colours @ rule / size, 0.0, 1.0)  # how far along the line from the paper to the rule's colour
    off = np.sqrt(((colours - t[:, None] * rule) ** 2).sum(-1))
    like[rows, cols] = off <= max(0.5 * np.sqrt(size), floor)
    return like


def _rule_bands(mask: np.ndarray) -> list[np.ndarray]:
    """Boolean masks of the near-horizontal rules in ``mask``, found on a copy of half its size (a pixel of
    the copy holds ink where any of its four does) when the picture is large enough to afford it."""
    import cv2

    h, w = mask.shape
    if min(h, w) < 2 * _HALVED_FROM:
        return _bands(_rules(mask), (h, w))
    small = cv2.resize(mask.astype(np.uint8) * 255, (w // 2, h // 2), interpolation=cv2.INTER_AREA) > 0
    half = small.shape[1]
    # A line's height at the centre of the copy, plus its width, maps back to the picture's the same way.
    return _bands([(covered, k, 2 * (top - half) + w, 2 * (bottom - half) + 1 + w)
                   for covered, k, top, bottom in _rules(small)], (h, w))


def _rules(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The near-horizontal rules in ``mask``: (how much ink they hold, slope, first and last line).

    A rule is a line, at one of a few slopes, that holds ink in 60 % of the columns where it lies inside
    the picture, at least half of them (a rule near the edge of a tilted page leaves the picture), and
    well through both ends of that stretch (a rule runs on; a digit's bar at most touches one end); it is
    a few such lines thick at most. Every pixel's line at every slope is found at once (its height at the
    picture's centre, plus the width), so lines are counted, not drawn.
    """
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    if len(ys) == 0 or w < 16:
        return []
    offsets = np.round(ys[None, :] - _SLOPES[:, None] * (xs[None, :] - w / 2)).astype(np.int32) + w
    span = int(offsets.max()) + 1
    lines = offsets + span * np.arange(len(_SLOPES), dtype=np.int32)[:, None]  # one number per slope and line
    covered = np.bincount(lines.ravel(), minlength=span * len(_SLOPES)).reshape(len(_SLOPES), span)
    slopes = np.nonzero(covered.max(axis=1) >= 0.3 * w)[0]  # most pictures have no line this full: done
    if len(slopes) == 0:
        return []
    first, last = _inside(span, w, h)  # where each line lies inside the picture
    length = last - first
    end = np.maximum(1, length // 8)
    ruled = np.zeros(covered.shape, bool)
    for k in slopes:
        near_first = np.bincount(offsets[k][xs < (first[k] + end[k])[offsets[k]]], minlength=span)
        near_last = np.bincount(offsets[k][xs >= (last[k] - end[k])[offsets[k]]], minlength=span)
        ruled[k] = ((length[k] >= 0.5 * w) & (covered[k] >= 0.6 * length[k]) & (near_first >= 0.5 * end[k])
                    & (near_last >= 0.5 * end[k]))
    max_thickness = max(2, round(min(h, w) * _RULE_THICKNESS), round(w / 15))
    found = []
    for k in np.nonzero(ruled.any(axis=1))[0]:
        for run in _runs(np.nonzero(ruled[k])[0]):
            if len(run) <= max_thickness:
                top, bottom = _edges_of_rule(covered[k], int(run[0]), int(run[-1]), w)
                found.append((int(covered[k, run].sum()), int(k), top, bottom))
    return _distinct(found)


def _inside(span: int, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """For each slope and line (height at the centre, plus ``w``): the first column where the line lies inside
    the picture and the one after the last (equal for a line wholly outside)."""
    centre = (np.arange(span, dtype=np.float64) - w)[None, :]  # each line's height at the picture's centre
    slope = _SLOPES[:, None]
    flat = np.abs(slope) < 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        enter, leave = w / 2 - centre / slope, w / 2 + (h - centre) / slope  # where it crosses y = 0 and y = h
    low = np.where(flat, np.where((centre >= 0) & (centre < h), 0, w), np.where(slope > 0, enter, leave))
    high = np.where(flat, np.where((centre >= 0) & (centre < h), w, 0), np.where(slope > 0, leave, enter))
    first = np.clip(np.ceil(low), 0, w).astype(np.int32)
    last = np.clip(np.ceil(high), 0, w).astype(np.int32)
    return first, np.maximum(first, last)


def _runs(values: np.ndarray) -> list[np.ndarray]:
    """Consecutive integers in ``values`` (sorted), run by run."""
    return np.split(values, np.nonzero(np.diff(values) > 1)[0] + 1) if len(values) else []


def _edges_of_rule(covered: np.ndarray, first: int, last: int, w: int) -> tuple[int, int]:
    """The rule's lines grown by its soft edges: up to two more lines on each side that still cover a fifth
    of the columns (a blurred or anti-aliased rule fades over a pixel or two)."""
    for _ in range(2):
        if first > 0 and covered[first - 1] >= 0.2 * w:
            first -= 1
        if last + 1 < len(covered) and covered[last + 1] >= 0.2 * w:
            last += 1
    return first, last


def _distinct(found: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """One (coverage, slope, first, last line) per rule, at the slope where it covers most: the same rule is
    found at several slopes, always through nearly the same lines at the picture's centre."""
    kept: list[tuple[int, int, int, int]] = []
    for line in sorted(found, reverse=True):
        _, _, first, last = line
        if not any(first <= last2 + 2 and first2 <= last + 2 for _, _, first2, last2 in kept):
            kept.append(line)
    return kept


def _bands(lines: list[tuple[int, int, int, int]], shape: tuple[int, int]) -> list[np.ndarray]:
    """The pixels of each rule: its lines at its slope, and as many more on each side, at least three (a rule's
    soft edges, and the colour a compressed picture spreads around it)."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w]
    bands, at_slope = [], {}
    for _, k, first, last in lines:
        if k not in at_slope:
            at_slope[k] = np.round(y - _SLOPES[k] * (x - w / 2)).astype(np.int32) + w
        margin = max(3, last - first + 1)
        bands.append((at_slope[k] >= first - margin) & (at_slope[k] <= last + margin))
    return bands


def _erase_band(contrast: np.ndarray, ink: np.ndarray, band: np.ndarray, like: np.ndarray) -> None:
    """Zero the pixels of the band that ``like`` the rule, except in columns where ``ink`` goes on from it,
    unbroken, for a few pixels above or below (a stroke crossing the rule or lying along it)."""
    h = band.shape[0]
    top = np.where(band.any(0), np.argmax(band, axis=0), -1)
    bottom = np.where(band.any(0), h - 1 - np.argmax(band[::-1], axis=0), h)
    cols = np.arange(band.shape[1])
    above, below = np.ones(len(cols), bool), np.ones(len(cols), bool)
    for step in range(1, _GOES_ON + 1):
        above &= (top - step >= 0) & ink[np.clip(top - step, 0, h - 1), cols]
        below &= (bottom + step < h) & ink[np.clip(bottom + step, 0, h - 1), cols]
    contrast[band & like & ~(above | below)[None, :]] = 0.0


def components(mask: np.ndarray) -> tuple[np.ndarray, list[Component]]:
    """8-connected components of ``mask``: a label image (0 = none) and one Component per label."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    return labels, [Component(int(x), int(y), int(x + w), int(y + h), int(area), k)
                    for k, (x, y, w, h, area) in enumerate(stats[1:count].tolist(), start=1)]


# np.median and np.percentile check their input for masked arrays, which imports numpy.ma, a noticeable part of
# a one-picture `lenet predict`'s start-up. These two compute the same statistics from np.partition.

def median(values: Any) -> float:
    """``np.median`` of values without NaN: the same number."""
    flat = np.asarray(values).ravel()
    half = flat.size // 2
    if flat.size % 2:
        return float(np.partition(flat, half)[half])
    return float(np.mean(np.partition(flat, [half - 1, half])[half - 1 : half + 1]))


def percentile(values: Any, q: float) -> float:
    """``np.percentile(values, q)`` of values without NaN, by the same (linear) definition, in float64."""
    flat = np.asarray(values).ravel()
    position = (flat.size - 1) * q / 100.0
    below = int(position)
    above = min(below + 1, flat.size - 1)
    part = np.partition(flat, [below, above] if above > below else below)
    low, high = float(part[below]), float(part[above])
    return low + (high - low) * (position - below)


def _sample(x: np.ndarray, most: int = 8_000) -> np.ndarray:
    """An even subsample of ``x`` (statistics of the paper do not need every pixel)."""
    flat = x.ravel()
    return flat[:: max(1, flat.size // most)]
