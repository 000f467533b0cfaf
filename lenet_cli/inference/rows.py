"""Reading a row of digits with a predictor: the picture levelled and over-segmented (``reading.row``), every
candidate digit classified in one batch, and the best readings found through the segmentation graph
(``reading.graph``), as LeCun et al. (1998) read ZIP codes and cheque amounts in section V."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..reading.graph import Reading, arc_features, arcs_of, best_readings, bundled_scorer, specks
from ..reading.prepare import arc_images, prepare_row

if TYPE_CHECKING:
    from .predictor import Predictor

__all__ = ["NumberReading", "read_row", "log_softmax"]

ALTERNATIVES = 2  # readings reported after the best one


@dataclass
class NumberReading:
    """A row of digits read by recognition: the number, each digit (class, probability, top classes and box),
    the reading's score, and the next best readings."""

    path: str
    number: str
    probability: float  # of the whole number: the product of the digits' probabilities
    digits: list[dict[str, Any]]  # class_name, label, probability, topk, box [x0, y0, x1, y1] in the picture's pixels
    score: float | None = None  # the path's log score: its digits' log probabilities and how whole each looks
    alternatives: list[dict[str, Any]] = field(default_factory=list)  # the next readings: number, score
    reason: str | None = None  # why nothing was read, when nothing was

    def to_dict(self) -> dict[str, Any]:
        row = {"path": self.path, "number": self.number, "probability": self.probability, "digits": self.digits,
               "score": self.score, "alternatives": self.alternatives}
        return row if self.reason is None else {**row, "reason": self.reason}

    # --- the Python API: how a notebook shows the reading ---
    def _repr_html_(self) -> str:
        from ..display import percent, table_html, titled

        rows = [(d.get("class_name"), percent(d.get("probability"), 1),
                 ", ".join(f"{name} {percent(p, 1)}" for name, p in d.get("topk", [])), d.get("box"))
                for d in self.digits]
        others = ", ".join(a["number"] for a in self.alternatives)
        number = self.number or f"(no digits found: {self.reason or 'no writing'})"
        return titled(f"{self.path}: {number} ({percent(self.probability)})" + (f"; next: {others}" if others else ""),
                      table_html(["digit", "probability", "top-k", "box (x0, y0, x1, y1)"], rows, numeric=[1]))


def read_row(predictor: "Predictor", path: str, picture: Any, stages: dict | None = None,
             digits: int | None = None) -> NumberReading:
    """The number written in ``picture`` (a PIL image), read with ``predictor``'s classifier; ``stages`` gets
    the levelled row, the graph and the chosen path (for pictures of them) and the digits the model saw."""
    side = predictor.image_size[0]
    row, scale = prepare_row(picture, stages)
    arcs = arcs_of(row) if row is not None else []
    if stages is not None:
        stages["digits"] = []
    if row is None or not arcs:
        reason = (stages or {}).get("no_digit") or "no writing found"
        return NumberReading(path, "", 0.0, [], None, [], reason)
    images = arc_images(row, arcs, side, max(1, round(side * 20 / 28)))
    log_p = log_softmax(predictor.scores(images).astype(np.float64))
    log_whole = bundled_scorer().log_odds(arc_features(row, arcs, np.exp(log_p), images))
    readings = best_readings(arcs, row.count, log_p, log_whole, digits, 1 + ALTERNATIVES, specks(row))
    if not readings:  # fewer pieces than the digits asked for
        return NumberReading(path, "", 0.0, [], None, [],
                             f"the row does not hold {digits} digits" if digits else "no digits found")
    best = readings[0]
    if stages is not None:
        stages["digits"] = [images[i] for i in best.arcs]
        stages["row"] = (row, arcs, readings, predictor.classes)
    found = [_digit(predictor, row, arcs[i].box, label, log_p[i], scale) for i, label in zip(best.arcs, best.labels)]
    return NumberReading(path, _number(predictor, best), float(np.prod([d["probability"] for d in found])), found,
                         round(best.score, 4),
                         [{"number": _number(predictor, r), "score": round(r.score, 4)} for r in readings[1:]])


def _digit(predictor: "Predictor", row, box, label: int, log_p: np.ndarray, scale: float) -> dict[str, Any]:
    """One digit of the reading as JSON shows it."""
    probabilities = np.exp(log_p)
    top = np.argsort(-probabilities, kind="stable")[:3]
    name = predictor.classes[label]
    return {"class_name": name, "predicted": label, "label": label, "probability": float(probabilities[label]),
            "topk": [[predictor.classes[int(k)], float(probabilities[k])] for k in top],
            "box": list(row.picture_box(box, scale))}


def _number(predictor: "Predictor", reading: Reading) -> str:
    return "".join(predictor.classes[label] for label in reading.labels)


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Log probabilities from a classifier's scores (N x classes), row by row, without overflow."""
    shifted = scores - scores.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
