"""Finding the ink on real paper: coloured card, ruled and squared notebooks, pencil in bad light.

The steps a person takes without noticing, in NumPy:

1. estimate the paper, its colour and its lighting (a morphological closing wider than a
   stroke, at low resolution), and divide it out, so any paper under any light becomes
   evenly white (``ink_strength``);
2. measure each pixel's distance from that white in CIELAB, a perceptual colour space, so dark
   pen on red card and chalk on a board are ink alike: polarity comes from the data;
3. remove ruled and grid lines, long thin straight strokes that cross most of the picture,
   while keeping the digit's strokes that cross them (``remove_rules``);
4. label the connected pieces of ink (``components``), for cropping and for reading numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["InkMap", "Component", "find_ink", "ink_strength", "remove_rules", "components", "otsu", "median",
           "percentile"]

_LOW_SIDE = 48  # the paper is estimated on a copy this many pixels on its short side
_WINDOW = 13  # wider than a stroke at that size, even a marker's (a digit is at most ~45 px high there)
_LUMINANCE = np.array([0.2126, 0.7152, 0.0722], np.float32)
_SLOPES = np.tan(np.radians(np.arange(-4.0, 4.01, 1.0)))  # rules may be tilted a few degrees in a photo


@dataclass
class Component:
    """A connected piece of ink: its box (x0, y0, x1, y1, exclusive ends) and pixel count."""

    x0: int
    y0: int
    x1: int
    y1: int
    area: int
    label: int

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
    raw: np.ndarray  # float32 H x W: ink strength before rules were removed
    labels: np.ndarray  # int32 H x W: which piece of ink each pixel belongs to (0: none)
    pieces: list[Component]  # the connected pieces of the mask


def find_ink(rgb: np.ndarray) -> InkMap:
    """Ink of an RGB picture (float 0..1, H x W x 3): strength, mask, and the map before rule removal."""
    distance = ink_strength(rgb)
    floor = _noise_floor(distance)
    raw = _stretch(distance, floor)
    # Rules are looked for among all pixels that differ visibly from the paper, faint blue rules included.
    visible = distance > floor
    strength = remove_rules(raw, visible)
    labels, pieces = _hysteresis(strength, otsu(strength))
    mask = labels > 0
    paper = strength[~mask]
    if not mask.any() or float(strength[mask].mean()) - float(paper.mean() if paper.size else 0.0) < 0.1:
        return InkMap(strength, np.zeros_like(mask), raw, np.zeros_like(labels), [])  # no ink to speak of
    return InkMap(strength, mask, raw, labels, pieces)


def _hysteresis(strength: np.ndarray, threshold: float) -> tuple[np.ndarray, list[Component]]:
    """The pieces of ink above 0.4 ``threshold`` that reach above it (a light stroke stays whole):
    their label image (others set to 0) and the pieces."""
    labels, pieces = components(strength > 0.4 * threshold)
    keep = np.zeros(len(pieces) + 1, bool)
    keep[labels[strength > threshold]] = True  # not np.unique: it would import numpy.ma (see median below)
    keep[0] = False
    return np.where(keep[labels], labels, 0), [p for p in pieces if keep[p.label]]


def ink_strength(rgb: np.ndarray) -> np.ndarray:
    """CIELAB distance (Delta E 1976) of each pixel from the paper around it, after dividing the paper out.

    A grey picture (scans, drawings, most uploads) is worked on as one channel: its colour is grey
    throughout, so a* and b* are 0 and the distance is that of lightness alone, at a third of the work.
    """
    grey = bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))
    linear = _srgb_to_linear(np.clip(rgb[..., :1] if grey else rgb, 0.0, 1.0))
    paper, dark_ink = _paper_estimate(linear)
    balanced = linear / np.maximum(paper, 0.02)  # the paper becomes white (1, 1, 1)
    # Only a change towards the ink's side is ink: paper brighter than its surroundings is not dark ink.
    balanced = np.minimum(balanced, 1.0) if dark_ink else np.clip(balanced, 1.0, 4.0)
    if grey:
        return np.abs(116.0 * _lab_f(balanced[..., 0]) - 116.0).astype(np.float32)  # |L* - 100|
    lab = _linear_to_lab(balanced)
    return np.sqrt((lab[..., 0] - 100.0) ** 2 + lab[..., 1] ** 2 + lab[..., 2] ** 2).astype(np.float32)


def _luminance(linear: np.ndarray) -> np.ndarray:
    """Relative luminance of linear RGB, or the one channel of a grey picture."""
    return linear[..., 0] if linear.shape[-1] == 1 else linear @ _LUMINANCE


def _paper_estimate(linear: np.ndarray) -> tuple[np.ndarray, bool]:
    """The paper's colour at every pixel, under the light where it lies, and whether ink is darker.

    At low resolution, a morphological closing (towards the paper: brighter for dark ink, darker
    for chalk) wider than a stroke removes the ink and keeps lighting, gradients and shadow edges;
    it is scaled back up. Polarity comes from the data.
    """
    from PIL import Image

    h, w, _ = linear.shape
    factor = max(1.0, min(h, w) / _LOW_SIDE)
    low_w, low_h = max(1, round(w / factor)), max(1, round(h / factor))
    channels = range(linear.shape[-1])
    small = np.stack([np.asarray(Image.fromarray(linear[..., c], "F").resize((low_w, low_h), Image.BOX))
                      for c in channels], axis=-1)
    toward_paper = _ink_is_darker(_luminance(small))  # paper is brighter than pen, darker than chalk
    paper = _rank_filter(_rank_filter(small, _WINDOW, toward_paper), _WINDOW, not toward_paper)
    paper = _box_blur(paper, 1)  # smooth, but keep a shadow's edge sharp
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(paper[..., c]), "F").resize((w, h), Image.BILINEAR))
                     for c in channels], axis=-1), toward_paper


def _ink_is_darker(luminance: np.ndarray) -> bool:
    """Polarity from the data: do the pixels that stand out from their surroundings, taken together,
    stand out darker?

    Surroundings are the local median (a window as wide as the closing's, taken at half size, a
    tenth of the work), and the comparison is of logarithms (a ratio), so a gradient or a shadow
    across the page is not ink. It chose wrong on 2 of 1,800 rendered test pictures.
    """
    from PIL import Image, ImageFilter

    logs = np.log(luminance + 0.01)  # -4.6 .. 0.01
    levels = Image.fromarray(np.clip((logs + 4.61) * (255.0 / 4.62), 0, 255).astype(np.uint8), "L")
    half = levels.resize((max(1, levels.width // 2), max(1, levels.height // 2)), Image.BOX)
    local = half.filter(ImageFilter.MedianFilter(_WINDOW // 2 | 1)).resize(levels.size, Image.BILINEAR)
    deviation = np.asarray(levels, np.float32) - np.asarray(local, np.float32)
    # Which way more stands out, in total: ink is where most of the departure from the surroundings is.
    return float(np.clip(-deviation, 0, None).sum()) >= float(np.clip(deviation, 0, None).sum())


def _rank_filter(rgb: np.ndarray, size: int, brightest: bool) -> np.ndarray:
    """Each pixel takes the colour of the brightest (or darkest) pixel in the ``size`` x ``size`` window around it.

    Done along rows, then along columns: the brightest of the rows' brightest is the square's.
    """
    for axis in (1, 0):
        rgb = _rank_filter_along(rgb, size, brightest, axis)
    return rgb


def _rank_filter_along(rgb: np.ndarray, size: int, brightest: bool, axis: int) -> np.ndarray:
    """Each pixel takes the colour of the brightest (darkest) of the ``size`` pixels around it along ``axis``."""
    padded = _edge_padded(rgb, size // 2, axis)
    luminance = _luminance(padded)
    key = np.ascontiguousarray(np.moveaxis(luminance if brightest else -luminance, axis, -1))
    extreme, offset = _window_argmax(key, size)
    if rgb.shape[-1] == 1:  # the chosen pixel's colour is its luminance: the extreme itself
        return np.moveaxis(extreme if brightest else -extreme, -1, axis)[..., None]
    # Gather the chosen pixels through flat indices: fancy indexing with two index arrays is nine times slower.
    offset = np.moveaxis(offset, -1, axis)
    rows, cols = np.arange(rgb.shape[0])[:, None], np.arange(rgb.shape[1])[None, :]
    flat = (rows + offset) * padded.shape[1] + cols if axis == 0 else rows * padded.shape[1] + cols + offset
    return np.take(padded.reshape(-1, rgb.shape[-1]), flat, axis=0)


def _window_argmax(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The largest value in every ``size``-long window along the last axis, and its place in the window
    (the first, as ``np.argmax`` gives): windows of 1, 2, 4, 8 ... joined pairwise, in a few whole-array
    steps (``np.argmax`` over a sliding window view takes about 1.5 times as long).

    The later of two windows is taken only where it is strictly larger: the earlier one starts first,
    so where they tie, or overlap on the largest value, the first occurrence wins.
    """
    value, offset = key, np.zeros(key.shape, np.uint8)  # size < 256
    width = 1
    while width < size:
        step = min(width, size - width)
        later = value[..., step:] > value[..., :-step]
        value = np.where(later, value[..., step:], value[..., :-step])
        offset = np.where(later, offset[..., step:] + np.uint8(step), offset[..., :-step])
        width += step
    return value, offset


def _edge_padded(array: np.ndarray, width: int, axis: int) -> np.ndarray:
    """``array`` with its first and last rows (``axis`` 0) or columns repeated ``width`` times: np.pad's
    "edge" mode, which costs ten times more on pictures this small."""
    n = array.shape[axis]
    return np.take(array, np.clip(np.arange(-width, n + width), 0, n - 1), axis=axis)


def _box_blur(rgb: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2 radius + 1)-wide square, edges repeated."""
    size = 2 * radius + 1
    padded = _edge_padded(_edge_padded(rgb, radius, 0), radius, 1)
    h, w, _ = rgb.shape
    total = sum(padded[dy : dy + h, dx : dx + w] for dy in range(size) for dx in range(size))
    return (total / (size * size)).astype(np.float32)


def remove_rules(strength: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """``strength`` with the ruled and grid lines found among ``candidates`` (a mask) set to zero.

    A rule is a band of ink along a straight line, at most a few degrees from horizontal or vertical,
    covering most of the picture's width (height) and reaching both of its sides, and thin. Where a
    digit's stroke crosses a rule (ink right above and below the band) the band is kept.
    """
    strength, candidates = strength.copy(), candidates.copy()
    for transposed in (False, True):
        s, c = (strength.T, candidates.T) if transposed else (strength, candidates)
        for band in _rule_bands(c):
            _erase_band(s, c, band)
    return strength


def _rule_bands(mask: np.ndarray) -> list[np.ndarray]:
    """Boolean masks of the near-horizontal rules in ``mask``."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    if len(ys) == 0 or w < 16:
        return []
    max_thickness = max(2, int(round(min(h, w) * 0.04)))
    # Each pixel's line at every slope at once (the line's height at the centre), and the slopes where some
    # line holds enough pixels to cover 60 % of the columns: most pictures have none, and are done here.
    offsets = np.round(ys[None, :] - _SLOPES[:, None] * (xs[None, :] - w / 2)).astype(np.int64) + w
    span = int(offsets.max()) + 1
    per_line = np.bincount((offsets + span * np.arange(len(_SLOPES))[:, None]).ravel(), minlength=span * len(_SLOPES))
    enough = per_line.reshape(len(_SLOPES), span).max(axis=1) >= 0.6 * w
    bands = []
    for slope, offset in zip(_SLOPES[enough], offsets[enough]):
        columns = np.zeros((offset.max() + 1, w), bool)
        columns[offset, xs] = True
        covered = columns.sum(1)
        ends = columns[:, : w // 8].any(1) & columns[:, -(w // 8) :].any(1)
        rows = np.nonzero((covered >= 0.6 * w) & ends)[0]
        for run in np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1) if len(rows) else []:
            if len(run) <= max_thickness:
                lo, hi = run[0] - 1, run[-1] + 1  # antialiased edges of the line
                y, x = np.mgrid[0:h, 0:w]
                line_offset = np.round(y - slope * (x - w / 2)).astype(np.int64) + w
                bands.append((line_offset >= lo) & (line_offset <= hi))
    return _distinct(bands)


def _distinct(bands: list[np.ndarray]) -> list[np.ndarray]:
    """One band per rule: the same rule is found at neighbouring slopes."""
    kept: list[np.ndarray] = []
    for band in sorted(bands, key=lambda b: -int(b.sum())):
        if not any((band & other).sum() > 0.3 * band.sum() for other in kept):
            kept.append(band)
    return kept


def _erase_band(strength: np.ndarray, mask: np.ndarray, band: np.ndarray) -> None:
    """Zero the band, except in columns where ink continues on both sides of it (a stroke crossing)."""
    h = band.shape[0]
    top = np.where(band.any(0), np.argmax(band, axis=0), -1)
    bottom = np.where(band.any(0), h - 1 - np.argmax(band[::-1], axis=0), -1)
    reach = max(2, int(band.sum(0).max()))
    above = _any_in_rows(mask, top - reach, top - 1)
    below = _any_in_rows(mask, bottom + 1, bottom + reach)
    erase = band & ~(above & below)[None, :]
    strength[erase] = 0.0
    mask[erase] = False


def _any_in_rows(mask: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Per column x: is there ink in rows start[x]..stop[x] (clipped to the picture)?"""
    h, w = mask.shape
    cumulative = np.vstack([np.zeros((1, w), np.int64), np.cumsum(mask, axis=0)])
    lo, hi = np.clip(start, 0, h), np.clip(stop + 1, 0, h)
    cols = np.arange(w)
    return (cumulative[hi, cols] - cumulative[lo, cols] > 0) & (hi > lo)


def components(mask: np.ndarray) -> tuple[np.ndarray, list[Component]]:
    """8-connected components of ``mask``: a label image (0 = none) and one Component per label.

    Works on runs of ink along rows, so Python touches runs, not pixels.
    """
    h, w = mask.shape
    framed = np.zeros((h, w + 2), np.int8)  # a column of paper either side: every run starts and ends
    framed[:, 1:-1] = mask
    edges = np.diff(framed, axis=1)
    run_row, run_start = np.nonzero(edges == 1)
    _, run_end = np.nonzero(edges == -1)  # exclusive; same row-major order as the starts
    parent = list(range(len(run_row)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(run_row, np.arange(h + 1))
    for y in range(1, h):
        a, a_end, b, b_end = row_first[y - 1], row_first[y], row_first[y], row_first[y + 1]
        i, j = a, b
        while i < a_end and j < b_end:  # runs overlap (diagonals included) when their spans touch
            if run_start[i] <= run_end[j] and run_start[j] <= run_end[i]:
                parent[find(i)] = find(j)
            if run_end[i] < run_end[j]:
                i += 1
            else:
                j += 1
    roots = np.array([find(i) for i in range(len(parent))], np.int64)
    return _label_image(mask.shape, run_row, run_start, run_end, roots)


def _label_image(shape, run_row, run_start, run_end, roots) -> tuple[np.ndarray, list[Component]]:
    """The label image and the pieces, from the runs and the root each run's piece has (no loop per piece)."""
    labels = np.zeros(shape, np.int32)
    unique, run_label = np.unique(roots, return_inverse=True)
    count, lengths = len(unique), run_end - run_start
    if count == 0:
        return labels, []
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)  # where each run starts among all run pixels
    columns = np.arange(int(lengths.sum())) - first + np.repeat(run_start, lengths)
    labels[np.repeat(run_row, lengths), columns] = np.repeat(run_label + 1, lengths)
    x0, y0 = np.full(count, shape[1]), np.full(count, shape[0])
    x1, y1, area = np.zeros(count, np.int64), np.zeros(count, np.int64), np.zeros(count, np.int64)
    np.minimum.at(x0, run_label, run_start)
    np.minimum.at(y0, run_label, run_row)
    np.maximum.at(x1, run_label, run_end)
    np.maximum.at(y1, run_label, run_row + 1)
    np.add.at(area, run_label, lengths)
    return labels, [Component(int(x0[k]), int(y0[k]), int(x1[k]), int(y1[k]), int(area[k]), k + 1) for k in range(count)]


def otsu(x: np.ndarray) -> float:
    """The level (0..1) that best splits ``x`` into two classes (Otsu 1979)."""
    hist = np.bincount(np.clip(x * 255, 0, 255).astype(np.int64).ravel(), minlength=256).astype(np.float64)
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * np.arange(256))
    total_weight, total_mean = weight[-1], mean[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * weight - mean * total_weight) ** 2 / (weight * (total_weight - weight))
    if np.isnan(between[:-1]).all():  # a single level: no split, no ink
        return 1.0
    return (int(np.nanargmax(between[:-1])) + 0.5) / 255.0


def _stretch(distance: np.ndarray, floor: float) -> np.ndarray:
    """Colour distance -> ink strength 0..1: the paper's noise ``floor`` at 0, the strong ink at 1."""
    high = max(percentile(_sample(distance), 99.5), floor + 1.0)
    return np.clip((distance - floor) / (high - floor), 0.0, 1.0).astype(np.float32)


def _noise_floor(distance: np.ndarray) -> float:
    """The distance above which a pixel differs visibly from the paper: its noise (a robust
    standard deviation, from the median absolute deviation) and a Delta E of 2, the least people see."""
    sample = _sample(distance)
    middle = median(sample)
    return middle + 3.0 * 1.4826 * median(np.abs(sample - middle)) + 2.0


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


_LEVELS = np.arange(256, dtype=np.float64) / 255.0
_LINEAR = np.where(_LEVELS <= 0.04045, _LEVELS / 12.92, ((_LEVELS + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB 0..1 -> linear light, through a table of the 256 levels a picture has."""
    return _LINEAR[np.rint(rgb * 255.0).astype(np.uint8)]


def _linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """Linear sRGB (white = 1, 1, 1) -> CIELAB under D65."""
    matrix = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]], np.float32)
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883], np.float32)
    f = _lab_f(xyz)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def _lab_f(t: np.ndarray) -> np.ndarray:
    """CIELAB's companding of a tristimulus ratio.

    The cube root is taken as exp(log(t) / 3): NumPy vectorises exp and log but not cbrt, which took
    a fifth of a colour picture's preparation; the two agree to a unit in the last place of float32.
    """
    cube_root = np.exp(np.log(np.maximum(t, 216 / 24389)) * np.float32(1 / 3))
    return np.where(t > 216 / 24389, cube_root, (24389 / 27 * t + 16) / 116)
