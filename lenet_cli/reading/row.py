"""A row of handwritten digits made ready to be read: the writing alone, turned level, and cut into more
pieces than it has digits (the heuristic over-segmentation of LeCun et al. 1998, section V).

Pieces ("atoms") are the row's connected strokes, with pieces stacked above each other taken together,
and, inside every glyph wide enough to hold two digits, the strips between candidate cuts. A cut is a
path from the top of the glyph to its bottom that crosses as little ink as it can, started at a thin
column, at a valley of the upper contour or at a peak of the lower one. Which pieces make a digit is
decided later, by recognition (``graph``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ink import median

__all__ = ["Row", "Cut", "level_row", "over_segment"]

_STEEPEST = 20.0  # degrees: a row is levelled only up to this slope (steeper is more likely a tall digit's shape)
_FLAT = 2.0  # degrees: a slope this small is left alone, the handwriting's own wobble
_ELONGATED = 2.0  # a row is levelled only when its ink is this many times longer than tall
_STACKED = 0.5  # pieces overlapping by this share of the narrower one's width are parts of one glyph
_SMALL = 0.35  # a piece lower than this share of the row's height joins the glyph it overlaps
_CUT_FROM = 0.5  # glyphs at least this many row heights wide get candidate cuts
_GRID = 0.2  # besides the thin columns and contour valleys, a candidate cut every this share of the row's height
_APART = 0.12  # candidate cuts are at least this share of the row's height (and a stroke) apart
_BAND = 0.25  # a cut path strays at most this share of the row's height from where it started
_STEPS = (-1, 0, 1)  # a cut path moves at most this many columns sideways from one row to the next
_STRAIGHT = 1.2  # in glyphs at least this many row heights wide (two digits or more), a straight cut beside each path
_HOLE = 1.0  # the cost of crossing a pixel inside a loop, as much as a pixel of ink
_STEP = 0.3  # the cost of a cut path's sideways step, in units of the ink it would cross instead


@dataclass
class Cut:
    """Where two neighbouring pieces meet: a gap in the writing, or a path cut through a glyph."""

    kind: str  # "gap" or "cut"
    ink: float  # the ink the cut crosses, in strokes (0 for a gap)
    path: np.ndarray | None = None  # for a cut: (y, x) points in the levelled row, top to bottom


@dataclass
class Row:
    """The levelled writing and its pieces.

    ``atoms``: the piece each pixel belongs to (1..count, left to right; 0: paper), ``boxes[k - 1]`` piece
    k's box in levelled pixels (ends exclusive); ``cuts[i]`` lies between pieces i+1 and i+2; ``to_picture``: the 2x3 affine map from levelled pixels back to the
    picture the ink was found in.
    """

    strength: np.ndarray
    atoms: np.ndarray
    count: int
    height: float
    stroke: float
    angle: float
    to_picture: np.ndarray
    cuts: list[Cut] = field(default_factory=list)
    top: float = 0.0  # the row's band: where its digits' tops and bottoms lie
    bottom: float = 0.0
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # each piece's (x0, y0, x1, y1)


    def picture_box(self, box: tuple[int, int, int, int], scale: float = 1.0) -> tuple[int, int, int, int]:
        """``box`` (levelled pixels) as the box around it in the picture, times ``scale``."""
        x0, y0, x1, y1 = box
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64) @ self.to_picture.T
        low, high = corners.min(0) * scale, corners.max(0) * scale
        return int(round(low[0])), int(round(low[1])), int(round(high[0])), int(round(high[1]))


def level_row(strength: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """The writing turned level: (strength, mask, the angle turned in degrees, levelled -> picture affine).

    The slope is the direction of the ink's principal axis (the line its pixels spread along most), used
    only when the ink is clearly longer than tall and the slope is more than the handwriting's wobble.
    """
    import cv2

    ys, xs = np.nonzero(mask)
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    if len(xs) < 10:
        return strength, mask, 0.0, identity
    weights = strength[ys, xs].astype(np.float64)
    cx, cy = np.average(xs, weights=weights), np.average(ys, weights=weights)
    cov = np.cov(np.stack([xs - cx, ys - cy]), aweights=weights)
    values, vectors = np.linalg.eigh(cov)
    major = vectors[:, 1] if vectors[0, 1] >= 0 else -vectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    if values[1] < _ELONGATED ** 2 * max(values[0], 1e-9) or not _FLAT < abs(angle) <= _STEEPEST:
        return strength, mask, 0.0, identity
    h, w = strength.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    new_w, new_h = int(np.ceil(w * cos + h * sin)) + 2, int(np.ceil(w * sin + h * cos)) + 2
    turn[0, 2] += new_w / 2 - w / 2
    turn[1, 2] += new_h / 2 - h / 2
    levelled = cv2.warpAffine(strength.astype(np.float32), turn, (new_w, new_h), flags=cv2.INTER_LINEAR)
    levelled_mask = cv2.warpAffine(mask.astype(np.uint8) * 255, turn, (new_w, new_h), flags=cv2.INTER_LINEAR) > 127
    return levelled * levelled_mask, levelled_mask, angle, cv2.invertAffineTransform(turn)


def over_segment(strength: np.ndarray, mask: np.ndarray, angle: float = 0.0,
                 to_picture: np.ndarray | None = None) -> Row | None:
    """The row's pieces, left to right, with candidate cuts through every glyph wide enough for two digits;
    None when there is no ink."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8,
                                                               ltype=cv2.CV_32S)
    boxes = [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h, _ in stats[1:count].tolist()]
    if not boxes:
        return None
    tallest = max(b[3] - b[1] for b in boxes)
    height = float(median([b[3] - b[1] for b in boxes if b[3] - b[1] >= 0.5 * tallest]))
    stroke = _stroke_width(mask)
    glyphs = _glyphs(boxes, height)
    atoms = np.zeros(mask.shape, np.int32)
    cuts: list[Cut] = []
    next_atom = 1
    for members in glyphs:
        glyph = np.isin(labels, [k + 1 for k in members])
        x0, y0 = min(boxes[k][0] for k in members), min(boxes[k][1] for k in members)
        x1, y1 = max(boxes[k][2] for k in members), max(boxes[k][3] for k in members)
        if next_atom > 1:
            cuts.append(Cut("gap", 0.0))
        window = glyph[y0:y1, x0:x1]
        paths = _cut_paths(strength[y0:y1, x0:x1] * window, window, height, stroke) \
            if x1 - x0 >= _CUT_FROM * height else []
        parts = _split(window, paths)
        used = [k for k in range(len(paths) + 1) if (parts == k + 1).any()]
        for position, k in enumerate(used):
            atoms[y0:y1, x0:x1][parts == k + 1] = next_atom + position
            if position:
                path = paths[k - 1]
                crossed = float(strength[y0:y1, x0:x1][path[:, 0], path[:, 1]].sum() / max(stroke, 1.0))
                cuts.append(Cut("cut", crossed, path + [y0, x0]))
        next_atom += len(used)
    tops = [boxes[k][1] for k in range(len(boxes)) if boxes[k][3] - boxes[k][1] >= 0.5 * tallest]
    bottoms = [boxes[k][3] for k in range(len(boxes)) if boxes[k][3] - boxes[k][1] >= 0.5 * tallest]
    return Row(strength, atoms, next_atom - 1, height, stroke, angle,
               to_picture if to_picture is not None else np.array([[1.0, 0, 0], [0, 1.0, 0]]), cuts,
               float(median(tops)), float(median(bottoms)), _piece_boxes(atoms, next_atom - 1))


def _piece_boxes(atoms: np.ndarray, count: int) -> list[tuple[int, int, int, int]]:
    """The box (x0, y0, x1, y1, ends exclusive) of each piece 1..count, from one pass over the pixels."""
    ys, xs = np.nonzero(atoms)
    labels = atoms[ys, xs] - 1
    x0, y0 = np.full(count, atoms.shape[1]), np.full(count, atoms.shape[0])
    x1, y1 = np.zeros(count, np.int64), np.zeros(count, np.int64)
    for low, values in ((x0, xs), (y0, ys)):
        np.minimum.at(low, labels, values)
    for high, values in ((x1, xs + 1), (y1, ys + 1)):
        np.maximum.at(high, labels, values)
    return [(int(a), int(b), int(c), int(d)) for a, b, c, d in zip(x0, y0, x1, y1)]


def _stroke_width(mask: np.ndarray) -> float:
    """The writing's typical stroke width: twice the median distance from its pixels' ridge to the paper."""
    import cv2

    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    ridge = distance[distance >= cv2.dilate(distance, np.ones((3, 3), np.uint8))]
    ridge = ridge[ridge > 0]
    return float(2.0 * median(ridge)) if len(ridge) else 1.0


def _glyphs(boxes: list[tuple[int, int, int, int]], height: float) -> list[list[int]]:
    """Indices of the pieces making each glyph, left to right: pieces stacked above each other (a 4 or a 5
    written in two strokes) go together, and a small piece joins the glyph it overlaps."""
    order = sorted(range(len(boxes)), key=lambda k: (boxes[k][0] + boxes[k][2]) / 2)
    big = [k for k in order if boxes[k][3] - boxes[k][1] >= _SMALL * height]
    small = [k for k in order if boxes[k][3] - boxes[k][1] < _SMALL * height]
    glyphs: list[list[int]] = []
    spans: list[list[int]] = []
    for k in big + small:
        x0, _, x1, _ = boxes[k]
        best = max(range(len(spans)), key=lambda g: _overlap(spans[g], x0, x1), default=None)
        if best is not None and _overlap(spans[best], x0, x1) >= _STACKED * min(x1 - x0, spans[best][1] - spans[best][0]):
            glyphs[best].append(k)
            spans[best] = [min(spans[best][0], x0), max(spans[best][1], x1)]
        else:
            glyphs.append([k])
            spans.append([x0, x1])
    return [glyphs[g] for g in sorted(range(len(glyphs)), key=lambda g: sum(spans[g]))]


def _overlap(span: list[int], x0: int, x1: int) -> int:
    return max(0, min(span[1], x1) - max(span[0], x0))


def _cut_candidates(window: np.ndarray, height: float, stroke: float) -> list[int]:
    """Columns where a cut may start: the thinnest columns, the valleys of the upper contour and the peaks of
    the lower one; at least a stroke and a half from the glyph's ends and from each other."""
    h, w = window.shape
    inked = window.any(0)
    profile = np.convolve(window.sum(0).astype(np.float64), np.ones(3) / 3, mode="same")
    top = np.where(inked, window.argmax(0), h).astype(np.float64)
    bottom = np.where(inked, h - 1 - window[::-1].argmax(0), -1).astype(np.float64)
    found: dict[int, float] = {}
    for values, merit in ((profile, 1.0), (-top, 0.5), (bottom, 0.5)):
        for x in _local_minima(values):
            found[x] = max(found.get(x, 0.0), merit)
    for x in range(1, int(w / (_GRID * height)) + 1):  # and a cut now and then regardless
        found.setdefault(min(w - 1, int(x * _GRID * height)), 0.1)
    margin = max(2, int(round(_APART * height)), int(round(stroke)))
    chosen: list[int] = []
    for x in sorted(found, key=lambda x: (-found[x], profile[x])):
        if margin <= x < w - margin and all(abs(x - c) >= margin for c in chosen):
            chosen.append(x)
    return sorted(chosen)


def _local_minima(values: np.ndarray) -> list[int]:
    """Positions of the plateaus lower than both neighbouring values (the middle of each plateau)."""
    minima, x, n = [], 1, len(values)
    while x < n - 1:
        end = x
        while end + 1 < n and values[end + 1] == values[x]:
            end += 1
        if values[x - 1] > values[x] and end + 1 < n and values[end + 1] > values[x]:
            minima.append((x + end) // 2)
        x = end + 1
    return minima


def _cut_paths(ink: np.ndarray, window: np.ndarray, height: float, stroke: float) -> list[np.ndarray]:
    """For each candidate column, the top-to-bottom path near it that crosses the least ink: (y, x) points,
    left to right, never crossing each other.

    Dynamic programming row by row within a band around the column; a sideways step costs a little, so
    that a path goes straight down through paper and bends only to avoid ink. In a glyph wide enough for two
    digits the straight cut down the column is a candidate too: where digits overlap, the path of least ink
    often slips round one digit's stroke into the other, and the straight cut is the better one.
    """
    starts = _cut_candidates(window, height, stroke)
    if not starts:
        return []
    ink = ink + _HOLE * _holes(window)  # the inside of a loop belongs to one digit: a cut goes round it
    h, w = ink.shape
    band = int(round(_BAND * height))
    offsets = np.arange(-band, band + 1)
    columns = np.clip(np.array(starts)[:, None] + offsets[None, :], 0, w - 1)  # (cuts, band)
    outside = (np.array(starts)[:, None] + offsets[None, :] < 0) | (np.array(starts)[:, None] + offsets[None, :] >= w)
    beyond = np.where(outside, np.inf, 0.0)
    cost = ink[0][columns] + beyond
    moves = np.zeros((h, *columns.shape), np.int8)
    for y in range(1, h):
        options = np.stack([_shifted(cost, step) + _STEP * abs(step) for step in _STEPS])
        best = options.argmin(0)
        cost = options.min(0) + ink[y][columns] + beyond
        moves[y] = np.asarray(_STEPS, np.int8)[best]
    paths = []
    for c in range(len(starts)):
        k = int(np.argmin(cost[c] + 1e-3 * np.abs(offsets)))  # the cheapest end, the nearest when tied
        points = np.empty((h, 2), np.int64)
        for y in range(h - 1, -1, -1):
            points[y] = (y, columns[c, k])
            k += int(moves[y, c, k])
        paths.append(points)
        if w >= _STRAIGHT * height:
            paths.append(np.stack([np.arange(h), np.full(h, starts[c])], 1))
    xs = np.unique(np.stack([p[:, 1] for p in paths]), axis=0)
    xs = np.maximum.accumulate(xs[np.argsort(xs.mean(1), kind="stable")], axis=0)  # never crossing each other
    return [np.stack([np.arange(h), row], 1) for row in xs]


def _holes(window: np.ndarray) -> np.ndarray:
    """The paper enclosed by ink (the inside of a 0, 6, 8, 9 or 4): not reachable from the window's edge."""
    import cv2

    h, w = window.shape
    outside = np.zeros((h + 4, w + 4), np.uint8)
    outside[2:-2, 2:-2] = window
    flood = np.zeros((h + 6, w + 6), np.uint8)
    cv2.floodFill(outside, flood, (0, 0), 2)
    return (outside[2:-2, 2:-2] == 0).astype(np.float32)


def _shifted(cost: np.ndarray, step: int) -> np.ndarray:
    """``cost`` seen from ``step`` columns to the right of each position (inf beyond the band)."""
    if step == 0:
        return cost
    out = np.full_like(cost, np.inf)
    if step > 0:
        out[:, :-step] = cost[:, step:]
    else:
        out[:, -step:] = cost[:, :step]
    return out


def _split(window: np.ndarray, paths: list[np.ndarray]) -> np.ndarray:
    """Each ink pixel of the glyph numbered by the strip it lies in between the paths (1..len(paths)+1)."""
    h, w = window.shape
    if not paths:
        return window.astype(np.int32)
    xs = np.stack([p[:, 1] for p in paths])  # (paths, rows), left to right
    columns = np.arange(w)[None, None, :]
    strip = 1 + (columns >= xs[:, :, None]).sum(0)
    return np.where(window, strip, 0).astype(np.int32)
