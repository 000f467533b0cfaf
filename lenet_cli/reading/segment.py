"""Which pieces of ink are writing: dropping specks, rules, shadows and the paper's edge; how many digits a
picture holds side by side (rows of digits are cut by recognition, in ``row`` and ``graph``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ink import Component, median

__all__ = ["Glyph", "separate_digits", "writing", "no_writing_reason"]

_SPECK = 0.03  # a piece shorter than this share of the picture's short side is a speck
_SMALLEST = 0.15  # writing's largest piece spans at least this share of the short side
_FAINTEST = 3.5  # and differs from the paper by this Delta E on average, half as much again as people just see
_NOISY = 5.0  # and by this many times the paper's noise
_SHARP = 0.5  # and the paper right around it departs from the paper less than half as much as the writing
_HAIRLINE = 2.5  # and its strokes are wider than this many pixels: a pen's, not the soft edge of a printed line
_BLOB = 2.0  # the main stroke is at least this many times as long as it is wide (its area over its width squared)
_SAME_PEN = 2.5  # pieces of the same writing differ in stroke width and contrast by less than this factor


@dataclass
class Glyph:
    """One digit's ink: the component labels it is made of and the columns it keeps (x0..x1, y0..y1)."""

    labels: list[int] = field(default_factory=list)
    x0: int = 0
    y0: int = 0
    x1: int = 0
    y1: int = 0
    area: int = 0

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1

    def add(self, piece: Component) -> None:
        if not self.labels:
            self.x0, self.y0, self.x1, self.y1 = piece.x0, piece.y0, piece.x1, piece.y1
        self.labels.append(piece.label)
        self.x0, self.y0 = min(self.x0, piece.x0), min(self.y0, piece.y0)
        self.x1, self.y1 = max(self.x1, piece.x1), max(self.y1, piece.y1)
        self.area += piece.area


def writing(pieces: list[Component], shape: tuple[int, int]) -> list[Component]:
    """The pieces of ink that are writing, as a person picks them out: strokes of a pen's width and clearly
    darker (or more colourful) than the paper, around the largest such stroke; never a region that follows
    the picture's edge, a blob of shadow, a leftover of a ruled line, or a speck. Empty when the picture
    holds no writing."""
    strokes = [p for p in pieces if _stroke_like(p, shape)]
    lines = [p for p in strokes if p.area >= _BLOB * p.stroke * p.stroke]  # the main stroke is a line, not a blob
    if not lines:
        return []
    main = max(lines, key=lambda p: p.area * p.contrast)
    group, rest = [main], [p for p in strokes if p is not main and _alike(p, main, shape)]
    while True:  # pieces near the writing join it, and pieces near those (a row of digits)
        near = [p for p in rest if any(_near(p, q, main) for q in group)]
        if not near:
            break
        group += near
        rest = [p for p in rest if p not in near]
    return sorted(group, key=lambda p: p.label) if _legible(group, main, shape) else []


def no_writing_reason(pieces: list[Component], shape: tuple[int, int]) -> str:
    """Why ``writing`` found nothing, in words for the user."""
    if not pieces:
        return "no writing found (nothing stands out from the paper)"
    if not any(_stroke_like(p, shape) for p in pieces):
        return "no writing found (only specks, ruled lines or the edge of the paper)"
    return "no writing found (the marks are too small, too faint or too blurred to be a digit)"


def _stroke_like(piece: Component, shape: tuple[int, int]) -> bool:
    """Could ``piece`` be (part of) writing: not a speck, not mostly on a removed rule, not along the edge."""
    longest = max(piece.width, piece.height)
    return longest >= _SPECK * min(shape) and piece.on_rules < 0.7 and piece.border < 0.7


def _legible(group: list[Component], main: Component, shape: tuple[int, int]) -> bool:
    """Is the writing large and clear enough to be read as a digit?"""
    extent = max(max(p.x1 for p in group) - min(p.x0 for p in group),
                 max(p.y1 for p in group) - min(p.y0 for p in group))
    area = sum(p.area for p in group)
    contrast = sum(p.contrast * p.area for p in group) / area
    clarity = sum(p.clarity * p.area for p in group) / area
    sharpness = sum(p.sharpness * p.area for p in group) / area
    return (extent >= _SMALLEST * min(shape) and contrast >= _FAINTEST and clarity >= _NOISY
            and sharpness >= _SHARP and main.stroke >= _HAIRLINE)


def _alike(piece: Component, main: Component, shape: tuple[int, int]) -> bool:
    """Written with the same pen: a similar stroke width and contrast; not a speck beside the main stroke, nor
    a small piece cut by the picture's edge (a shadow's or the paper's)."""
    same_pen = (main.stroke / _SAME_PEN <= piece.stroke <= main.stroke * _SAME_PEN
                and main.contrast / _SAME_PEN <= piece.contrast <= main.contrast * _SAME_PEN)
    cut_by_edge = _touches_edge(piece, shape) and piece.area < 0.3 * main.area
    return same_pen and piece.area >= 0.02 * main.area and not cut_by_edge


def _touches_edge(piece: Component, shape: tuple[int, int]) -> bool:
    """Does ``piece`` reach the picture's edge?"""
    return piece.x0 == 0 or piece.y0 == 0 or piece.x1 == shape[1] or piece.y1 == shape[0]


def _near(piece: Component, other: Component, main: Component) -> bool:
    """Part of the same writing as ``other``: as tall as a digit beside it (a row of digits), or within half
    the main stroke's height of it (a digit's second stroke, a fragment of a broken one)."""
    gap_x = max(0, piece.x0 - other.x1, other.x0 - piece.x1)
    gap_y = max(0, piece.y0 - other.y1, other.y0 - piece.y1)
    beside = min(piece.y1, other.y1) - max(piece.y0, other.y0) > 0 and piece.height >= 0.5 * main.height
    return beside or max(gap_x, gap_y) <= 0.5 * main.height


def separate_digits(pieces: list[Component], labels: np.ndarray) -> int:
    """How many clearly separate digit-sized glyphs a picture holds (touching ones are not counted apart)."""
    row, _ = _group(pieces, labels)
    tallest = max((g.y1 - g.y0 for g in row), default=0)
    largest = max((g.area for g in row), default=0)
    return sum(g.y1 - g.y0 >= 0.6 * tallest and g.area >= 0.25 * largest for g in row)


def _group(pieces: list[Component], labels: np.ndarray) -> tuple[list[Glyph], float]:
    """Pieces grouped into glyphs left to right (touching digits make one); and the row's height."""
    kept = writing(pieces, labels.shape)
    if not kept:
        return [], 0.0
    tallest = max(p.height for p in kept)
    row_height = median([p.height for p in kept if p.height >= 0.5 * tallest])
    row: list[Glyph] = []
    for piece in sorted((p for p in kept if p.height >= 0.5 * row_height), key=lambda p: p.x0):
        stacked = [g for g in row if _overlap(g, piece) >= 0.5 * min(g.x1 - g.x0, piece.width)]
        if not stacked:
            row.append(Glyph())
        (stacked or row)[-1 if not stacked else 0].add(piece)
    for piece in (p for p in kept if p.height < 0.5 * row_height):
        home = max(row, key=lambda g: (_overlap(g, piece), -_gap(g, piece)))
        if _overlap(home, piece) > 0 or _gap(home, piece) <= 0.3 * row_height:
            home.add(piece)
    return row, row_height


def _gap(glyph: Glyph, piece: Component) -> int:
    return max(0, piece.x0 - glyph.x1, glyph.x0 - piece.x1)


def _overlap(glyph: Glyph, piece: Component) -> int:
    return max(0, min(glyph.x1, piece.x1) - max(glyph.x0, piece.x0))
