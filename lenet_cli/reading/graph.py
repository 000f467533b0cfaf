"""Reading a row by recognition (LeCun et al. 1998, section V): every run of one to four consecutive pieces
is a candidate digit (an arc of the segmentation graph), the classifier names each, a second scorer says
how much it looks like one whole digit, and the best paths through the graph are the readings.

The second scorer plays the part of the paper's "garbage" class without changing the classifier: a
small network over what the arc looks like (its size and place in the row, the cuts that bound it, the
classifier's own confidence), fitted on rows of MNIST training digits cut by ``row.over_segment``
(``bench/make_whole_digit_scorer.py``); its weights ship in ``weights/whole_digit.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .row import Row

__all__ = ["Arc", "Reading", "arcs_of", "arc_features", "specks", "WholeDigitScorer", "best_readings", "FEATURES"]

MOST_PIECES = 6  # an arc joins at most this many pieces
WIDEST = 2.0  # nor is it wider than this many row heights: no digit is
SPECK = 0.4  # a piece smaller than this many row heights either way may be a stray mark
KEEP = 6  # partial readings kept per node of the graph
WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "whole_digit.json"


@dataclass
class Arc:
    """Pieces ``first``..``last`` (1-based, inclusive) of a row taken as one digit, and their box."""

    first: int
    last: int
    box: tuple[int, int, int, int]


@dataclass
class Reading:
    """One path through the graph: the arcs it takes, the class chosen on each, and its log score."""

    arcs: list[int]
    labels: list[int]
    score: float


def arcs_of(row: Row) -> list[Arc]:
    """Every run of 1..MOST_PIECES consecutive pieces no wider than WIDEST row heights."""
    boxes = row.boxes
    arcs = []
    for first in range(1, row.count + 1):
        x0, y0, x1, y1 = boxes[first - 1]
        for last in range(first, min(row.count, first + MOST_PIECES - 1) + 1):
            bx0, by0, bx1, by1 = boxes[last - 1]
            x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
            if last > first and x1 - x0 > WIDEST * row.height:
                break
            arcs.append(Arc(first, last, (x0, y0, x1, y1)))
    return arcs


FEATURES = ("pieces", "width", "height", "above_band", "below_band", "left_gap", "right_gap", "left_ink",
            "right_ink", "inner_gap", "inner_ink", "log_p1", "log_p2",
            *(f"p{c}" for c in range(10)), *(f"p{c}_width" for c in range(10)),
            *(f"ink_{y}_{x}" for y in range(7) for x in range(7)))


def arc_features(row: Row, arcs: list[Arc], probabilities: np.ndarray, images: np.ndarray) -> np.ndarray:
    """One row of FEATURES per arc: its shape and place in units of the row's height, the cuts around and
    inside it, the classifier's probabilities (N x 10), and the arc's prepared image (N x 1 x 28 x 28) seen
    coarsely (7 x 7 means)."""
    coarse = images.reshape(len(images), 7, images.shape[-2] // 7, 7, images.shape[-1] // 7).mean((2, 4)) / 255.0
    h = max(row.height, 1.0)
    rows = []
    for arc, p, seen in zip(arcs, probabilities, coarse):
        x0, y0, x1, y1 = arc.box
        left = row.cuts[arc.first - 2] if arc.first > 1 else None
        right = row.cuts[arc.last - 1] if arc.last < row.count else None
        inner = row.cuts[arc.first - 1 : arc.last - 1]
        gaps = [_gap_width(row, k) for k in range(arc.first, arc.last) if row.cuts[k - 1].kind == "gap"]
        top2 = np.sort(p)[::-1][:2]
        width = (x1 - x0) / h
        rows.append([arc.last - arc.first + 1, width, (y1 - y0) / h, (row.top - y0) / h, (y1 - row.bottom) / h,
                     left is None or left.kind == "gap", right is None or right.kind == "gap",
                     left.ink if left else 0.0, right.ink if right else 0.0, max(gaps, default=0.0) / h,
                     sum(c.ink for c in inner), np.log(top2[0] + 1e-6), np.log(top2[1] + 1e-6),
                     *p, *(p * width), *seen.ravel()])
    return np.asarray(rows, np.float64).reshape(len(arcs), len(FEATURES))


def specks(row: Row) -> frozenset[int]:
    """The pieces small enough to be a stray mark rather than (part of) a digit: lower and narrower than
    SPECK row heights."""
    return frozenset(k for k, (x0, y0, x1, y1) in enumerate(row.boxes, start=1)
                     if max(x1 - x0, y1 - y0) < SPECK * row.height)


def _gap_width(row: Row, k: int) -> float:
    """The paper between pieces k and k+1 (pixels; 0 where they overlap)."""
    return float(max(0, row.boxes[k][0] - row.boxes[k - 1][2]))


class WholeDigitScorer:
    """log P(an arc is one whole digit) / P(not) from its FEATURES: standardised, then a small network (one
    hidden layer of tanh units: a narrow arc is a whole 1 between two gaps and a sliver between two cuts,
    which no sum of the features alone can say)."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, hidden: np.ndarray, hidden_bias: np.ndarray,
                 out: np.ndarray, out_bias: float) -> None:
        self.mean, self.scale, self.hidden, self.hidden_bias = mean, scale, hidden, hidden_bias
        self.out, self.out_bias = out, out_bias

    _ARRAYS = ("mean", "scale", "hidden", "hidden_bias", "out")

    @classmethod
    def from_dict(cls, data: dict) -> "WholeDigitScorer":
        if list(data["features"]) != list(FEATURES):
            raise ValueError("the whole-digit scorer was fitted on other features")
        return cls(*(np.asarray(data[k], np.float64) for k in cls._ARRAYS), float(data["out_bias"]))

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), **{k: getattr(self, k).tolist() for k in self._ARRAYS},
                "out_bias": self.out_bias}

    def log_odds(self, features: np.ndarray) -> np.ndarray:
        """log P(whole) / P(not whole) for each row of ``features``."""
        return np.tanh(((features - self.mean) / self.scale) @ self.hidden + self.hidden_bias) @ self.out + self.out_bias


@lru_cache(maxsize=1)
def bundled_scorer() -> WholeDigitScorer:
    """The scorer that ships with the package."""
    return WholeDigitScorer.from_dict(json.loads(WEIGHTS.read_text()))


def best_readings(arcs: list[Arc], count: int, log_class: np.ndarray, log_whole: np.ndarray,
                  digits: int | None = None, best: int = 3, specks: frozenset[int] = frozenset()) -> list[Reading]:
    """The ``best`` readings of a row of ``count`` pieces, highest score first, each a different number.

    A reading is a path of arcs covering the pieces in order; its score is the sum over its arcs of the
    class's log probability and the arc's log-odds of being one whole digit (Viterbi, keeping the KEEP
    best partial paths per node and number of digits). ``digits``: only paths of that many. ``specks``:
    pieces a path may leave out (a dot, a dash, a stray mark), at no cost.
    """
    top2 = np.argsort(-log_class, axis=1)[:, :2]
    ending: dict[int, list[int]] = {}
    for index, arc in enumerate(arcs):
        ending.setdefault(arc.last, []).append(index)
    paths: dict[tuple[int, int], list[Reading]] = {(0, 0): [Reading([], [], 0.0)]}
    for node in range(1, count + 1):
        for index in ending.get(node, []):
            start = arcs[index].first - 1
            for (at, made), partial in list(paths.items()):
                if at != start or (digits is not None and made >= digits):
                    continue
                for label in top2[index]:
                    gain = float(log_class[index, label] + log_whole[index])
                    extended = [Reading(r.arcs + [index], r.labels + [int(label)], r.score + gain) for r in partial]
                    paths.setdefault((node, made + 1), []).extend(extended)
        if node in specks:
            for (at, made), partial in list(paths.items()):
                if at == node - 1:
                    paths.setdefault((node, made), []).extend(partial)
        for key in [k for k in paths if k[0] == node]:
            paths[key] = sorted(paths[key], key=lambda r: -r.score)[:KEEP]
    finished = [r for (at, made), rs in paths.items() if at == count and made and (digits is None or made == digits)
                for r in rs]
    readings: dict[str, Reading] = {}
    for reading in sorted(finished, key=lambda r: -r.score):
        readings.setdefault("".join(map(str, reading.labels)), reading)
    return list(readings.values())[:best]
