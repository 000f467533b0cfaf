"""Fit the whole-digit scorer that reading a row of digits uses (``lenet_cli/reading/graph.py``).

Rows of 2-6 MNIST *training* digits are composed at random heights, with gaps from an overlap of a
quarter of the height to a clear space (half of them touching or overlapping), a quarter of them on a
slope. Each row is levelled and cut by the reader's own steps; every arc (a run of pieces) is prepared and
classified as `lenet predict --number` does, and labelled "whole" when at least 85 % of its ink is one
digit's and it holds at least 85 % of that digit's ink. A small network over ``graph.FEATURES`` is fitted to those labels
(a network of one hidden layer, by Adam), then checked on rows it never saw: exact numbers read.

    python bench/make_whole_digit_scorer.py [--rows 6000] [--seed 0] [--out lenet_cli/weights/whole_digit.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from lenet_cli.data.idx import read_idx
from lenet_cli.data.search import BUNDLED_DIR
from lenet_cli.files import write_json
from lenet_cli.inference.loading import load_predictor, resolve_for_prediction
from lenet_cli.inference.rows import log_softmax
from lenet_cli.reading.graph import WholeDigitScorer, arc_features, arcs_of, best_readings
from lenet_cli.reading.prepare import arc_images
from lenet_cli.reading.row import level_row, over_segment

SLOPED = 0.25  # share of the rows written on a slope (then levelled, as the reader levels them)
WHOLE = 0.85  # share of the arc's ink from one digit, and of that digit's ink in the arc
L2 = 1e-4
HIDDEN = 16  # tanh units of the scorer's one hidden layer


def compose_row(images: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """A row of ``images`` (28x28 light on dark) at a random height: (ink strength 0..1, owner of each pixel:
    1.. per digit, 0 paper, whether the digits touch or overlap)."""
    height = int(rng.integers(28, 96))
    touching = rng.random() < 0.5
    layers, xs = [], [0]
    for image in images:
        scaled = np.asarray(Image.fromarray(image).resize((height, height), Image.BICUBIC), np.float32) / 255.0
        cols = np.nonzero(scaled.max(0) > 0.1)[0]
        layers.append(np.clip(scaled[:, cols[0] : cols[-1] + 1], 0, 1))
    for before, after in zip(layers, layers[1:]):
        gap = rng.uniform(-0.25, 0.02) if touching else rng.uniform(0.02, 0.45)
        gap = max(int(round(gap * height)), -(min(before.shape[1], after.shape[1]) // 2))
        xs.append(xs[-1] + before.shape[1] + gap)
    width = xs[-1] + layers[-1].shape[1]
    stack = np.zeros((len(layers), height + 4, width + 4), np.float32)
    for k, (x, layer) in enumerate(zip(xs, layers)):
        stack[k, 2 : 2 + height, 2 + x : 2 + x + layer.shape[1]] = layer
    strength = stack.max(0)
    owner = np.where(strength > 0, stack.argmax(0) + 1, 0)
    if rng.random() < SLOPED:
        strength, owner = _turned(strength, owner, rng.uniform(4, 15) * rng.choice([-1, 1]))
    return strength, owner, touching


def _turned(strength: np.ndarray, owner: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """The row written on a slope: ink turned smoothly, owners turned with it."""
    import cv2

    h, w = strength.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    size = (int(np.ceil(w * cos + h * sin)) + 2, int(np.ceil(w * sin + h * cos)) + 2)
    turn[:, 2] += (size[0] / 2 - w / 2, size[1] / 2 - h / 2)
    return (cv2.warpAffine(strength, turn, size, flags=cv2.INTER_LINEAR),
            cv2.warpAffine(owner.astype(np.float32), turn, size, flags=cv2.INTER_NEAREST).astype(np.int64))


def cut_row(strength: np.ndarray, owner: np.ndarray):
    """The row levelled and over-segmented as the reader does it: (Row or None, levelled ink, levelled owners)."""
    import cv2

    levelled, mask, angle, to_picture = level_row(strength, strength > 0.3)
    if angle:
        forward = cv2.invertAffineTransform(to_picture)
        owner = cv2.warpAffine(owner.astype(np.float32), forward, levelled.shape[::-1],
                               flags=cv2.INTER_NEAREST).astype(np.int64) * mask
    return over_segment(levelled, mask, angle, to_picture), levelled, owner


def whole_digit_of(row, arcs, strength: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """For each arc, the digit (1.., as ``owner`` numbers them) it is one whole of, or 0: at least WHOLE of
    its ink is that digit's, and it holds at least WHOLE of that digit's ink."""
    digit_ink = np.bincount(owner.ravel(), weights=strength.ravel(), minlength=owner.max() + 1)
    found = np.zeros(len(arcs), np.int64)
    for n, arc in enumerate(arcs):
        x0, y0, x1, y1 = arc.box
        chosen = (row.atoms[y0:y1, x0:x1] >= arc.first) & (row.atoms[y0:y1, x0:x1] <= arc.last)
        ink = np.bincount(owner[y0:y1, x0:x1][chosen], weights=strength[y0:y1, x0:x1][chosen],
                          minlength=len(digit_ink))
        ink[0] = 0
        d = int(ink.argmax())
        if d > 0 and ink[d] >= WHOLE * ink.sum() and ink[d] >= WHOLE * digit_ink[d]:
            found[n] = d
    return found


def arcs_and_labels(predictor, strength: np.ndarray, owner: np.ndarray):
    """The row's arcs, their features, their classifier log probabilities, and which are whole digits."""
    row, strength, owner = cut_row(strength, owner)
    if row is None:
        return None
    arcs = arcs_of(row)
    images = arc_images(row, arcs)
    log_p = log_softmax(predictor.scores(images).astype(np.float64))
    features = arc_features(row, arcs, np.exp(log_p), images)
    whole = whole_digit_of(row, arcs, strength, owner) > 0
    return row, arcs, features, log_p, whole


def fit(features: np.ndarray, whole: np.ndarray, hidden: int = HIDDEN, steps: int = 600,
        seed: int = 0) -> WholeDigitScorer:
    """The scorer's network fitted by Adam on the logistic loss (full batch, a little L2), on standardised
    features."""
    rng = np.random.default_rng(seed)
    mean, scale = features.mean(0), features.std(0) + 1e-6
    x = (features - mean) / scale
    params = [rng.normal(0, 1 / np.sqrt(x.shape[1]), (x.shape[1], hidden)), np.zeros(hidden),
              rng.normal(0, 1 / np.sqrt(hidden), hidden), np.zeros(1)]
    moments = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    for step in range(1, steps + 1):
        h = np.tanh(x @ params[0] + params[1])
        z = h @ params[2] + params[3][0]
        error = (1 / (1 + np.exp(-z)) - whole) / len(x)  # d loss / d z
        back = np.outer(error, params[2]) * (1 - h * h)
        grads = [x.T @ back + L2 * params[0], back.sum(0), h.T @ error + L2 * params[2], np.array([error.sum()])]
        for p, g, m, v in zip(params, grads, *moments):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p -= 0.01 * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    return WholeDigitScorer(mean, scale, params[0], params[1], params[2], float(params[3][0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--held-out", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("lenet_cli/weights/whole_digit.json"))
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    images = read_idx(BUNDLED_DIR / "mnist" / "train-images-idx3-ubyte.gz")
    labels = read_idx(BUNDLED_DIR / "mnist" / "train-labels-idx1-ubyte.gz")
    predictor = load_predictor(resolve_for_prediction(None, Path("runs/train")), None)
    rows = []
    for _ in range(args.rows + args.held_out):
        chosen = rng.choice(len(images), size=int(rng.integers(2, 7)), replace=False)
        strength, owner, touching = compose_row(images[chosen], rng)
        made = arcs_and_labels(predictor, strength, owner)
        if made is not None:
            rows.append(("".join(str(int(labels[i])) for i in chosen), "touching" if touching else "gap", made))
    train, held = rows[: args.rows], rows[args.rows :]
    features = np.vstack([made[2] for _, _, made in train])
    whole = np.concatenate([made[4] for _, _, made in train])
    scorer = fit(features, whole)
    right = {"touching": [0, 0], "gap": [0, 0]}
    for number, kind, (row, arcs, feats, log_p, _) in held:
        readings = best_readings(arcs, row.count, log_p, scorer.log_odds(feats))
        right[kind][0] += bool(readings) and "".join(map(str, readings[0].labels)) == number
        right[kind][1] += 1
    write_json(args.out, {**scorer.to_dict(), "fitted_on": {
        "rows": len(train), "arcs": int(len(whole)), "whole_share": round(float(whole.mean()), 4), "seed": args.seed}})
    print(json.dumps({"arcs": int(len(whole)), "whole": int(whole.sum()), "held_out_exact": {
        kind: round(r / max(n, 1), 4) for kind, (r, n) in right.items()}, "held_out_rows": {
        kind: n for kind, (_, n) in right.items()}, "hidden_units": HIDDEN},
        indent=1))


if __name__ == "__main__":
    main()
