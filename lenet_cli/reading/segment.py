"""Which pieces of ink make a digit: dropping specks, merging broken strokes, splitting touching digits."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ink import Component, median

__all__ = ["Glyph", "glyphs", "separate_digits", "significant"]

_TOUCHING = 1.3  # a glyph wider than this many times its height is taken as touching digits
_DIGIT_WIDTH = 0.7  # a digit's typical width, as a share of its height, to count the touching ones


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


def significant(pieces: list[Component], shape: tuple[int, int]) -> list[Component]:
    """The pieces that can be (part of) a digit: not specks of noise, leftovers of a rule, or the
    edge of the paper or a shadow along the picture's border."""
    if not pieces:
        return []
    biggest = max(p.area for p in pieces)
    tallest = max(p.height for p in pieces)
    kept = [p for p in pieces if p.area >= 0.03 * biggest and (p.height >= 0.3 * tallest or p.area >= 0.15 * biggest)]
    inner = max((p.area for p in kept if not _touches_border(p, shape)), default=0)
    inside = [p for p in kept if not _edge_of_picture(p, shape, inner)]
    return inside or kept


def _touches_border(piece: Component, shape: tuple[int, int]) -> bool:
    return piece.x0 == 0 or piece.y0 == 0 or piece.x1 == shape[1] or piece.y1 == shape[0]


def _edge_of_picture(piece: Component, shape: tuple[int, int], inner: int) -> bool:
    """A piece on the border that is no digit's: long and thin along it (the paper's or a shadow's
    edge, a table), or small beside the largest piece that stays inside the picture."""
    if not _touches_border(piece, shape):
        return False
    h, w = shape
    long_side, short_side = max(piece.width, piece.height), max(1, min(piece.width, piece.height))
    spans = piece.height >= 0.7 * h if piece.height >= piece.width else piece.width >= 0.7 * w
    return (spans and long_side >= 4 * short_side) or piece.area < 0.3 * inner


def glyphs(pieces: list[Component], labels: np.ndarray) -> list[Glyph]:
    """The digits in a row, left to right.

    Pieces as tall as digits make glyphs, merged when stacked above each other (a 4 in two strokes);
    smaller pieces (a 5's flag, a 2's tail) join the glyph they overlap or nearly touch; a glyph too
    wide for one digit is cut where its column profile is thinnest.
    """
    row, row_height = _group(pieces, labels)
    return [part for glyph in row for part in _split_touching(glyph, labels, row_height)]


def separate_digits(pieces: list[Component], labels: np.ndarray) -> int:
    """How many clearly separate digit-sized glyphs a picture holds (touching ones are not counted apart)."""
    row, _ = _group(pieces, labels)
    tallest = max((g.y1 - g.y0 for g in row), default=0)
    largest = max((g.area for g in row), default=0)
    return sum(g.y1 - g.y0 >= 0.6 * tallest and g.area >= 0.25 * largest for g in row)


def _group(pieces: list[Component], labels: np.ndarray) -> tuple[list[Glyph], float]:
    """Pieces grouped into glyphs left to right, before touching digits are cut; and the row's height."""
    kept = significant(pieces, labels.shape)
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


def _split_touching(glyph: Glyph, labels: np.ndarray, row_height: float) -> list[Glyph]:
    """``glyph`` cut into the digits it holds, at the thinnest columns near where each should end."""
    width, height = glyph.x1 - glyph.x0, max(glyph.y1 - glyph.y0, row_height)
    if width <= _TOUCHING * height:
        return [glyph]
    count = max(2, round(width / (_DIGIT_WIDTH * height)))
    region = np.isin(labels[glyph.y0 : glyph.y1, glyph.x0 : glyph.x1], glyph.labels)
    profile = region.sum(0)
    cuts, step = [0], width / count
    for k in range(1, count):
        lo, hi = int(k * step - 0.3 * step), int(k * step + 0.3 * step)
        cuts.append(lo + int(np.argmin(profile[lo:hi])))
    cuts.append(width)
    parts = []
    for a, b in zip(cuts, cuts[1:]):
        rows = np.nonzero(region[:, a:b].any(1))[0]
        if len(rows):
            parts.append(Glyph(list(glyph.labels), glyph.x0 + a, glyph.y0 + int(rows[0]), glyph.x0 + b,
                               glyph.y0 + int(rows[-1]) + 1, int(region[:, a:b].sum())))
    return parts
