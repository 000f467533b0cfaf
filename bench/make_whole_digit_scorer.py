"""Fit the whole-digit scorer that reading a row of digits uses (``lenet_cli/reading/graph.py``).

Rows of 2-6 MNIST *training* digits are composed at random heights, with gaps from an overlap of a
quarter of the height to a clear space (half of them touching or overlapping). Each row is cut by the
reader's own over-segmentation; every arc (a run of pieces) is prepared and classified as `lenet predict
--number` does, and labelled "whole" when at least 90 % of its ink is one digit's and it holds at least
90 % of that digit's ink. A logistic model over ``graph.FEATURES`` is fitted to those labels
(iteratively reweighted least squares, a little L2), then checked on rows it never saw: exact numbers read.

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
from lenet_cli.reading.graph import FEATURES, WholeDigitScorer, arc_features, arcs_of, best_readings
from lenet_cli.reading.prepare import arc_images
from lenet_cli.reading.row import over_segment

WHOLE = 0.85  # share of the arc's ink from one digit, and of that digit's ink in the arc
L2 = 1e-2


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
    return strength, owner, touching


def arcs_and_labels(predictor, strength: np.ndarray, owner: np.ndarray):
    """The row's arcs, their features, their classifier log probabilities, and which are whole digits."""
    row = over_segment(strength, strength > 0.3)
    if row is None:
        return None
    arcs = arcs_of(row)
    images = arc_images(row, arcs)
    scores = predictor.scores(images).astype(np.float64)
    log_p = scores - scores.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    features = arc_features(row, arcs, np.exp(log_p), images)
    digit_ink = np.bincount(owner.ravel(), weights=strength.ravel(), minlength=owner.max() + 1)
    whole = np.zeros(len(arcs), bool)
    for n, arc in enumerate(arcs):
        x0, y0, x1, y1 = arc.box
        chosen = (row.atoms[y0:y1, x0:x1] >= arc.first) & (row.atoms[y0:y1, x0:x1] <= arc.last)
        ink = np.bincount(owner[y0:y1, x0:x1][chosen], weights=strength[y0:y1, x0:x1][chosen],
                          minlength=len(digit_ink))
        ink[0] = 0
        d = int(ink.argmax())
        whole[n] = d > 0 and ink[d] >= WHOLE * ink.sum() and ink[d] >= WHOLE * digit_ink[d]
    return row, arcs, features, log_p, whole


def fit(features: np.ndarray, whole: np.ndarray) -> WholeDigitScorer:
    """Logistic regression by iteratively reweighted least squares on standardised features."""
    mean, scale = features.mean(0), features.std(0) + 1e-6
    x = np.hstack([(features - mean) / scale, np.ones((len(features), 1))])
    w = np.zeros(x.shape[1])
    for _ in range(30):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (p - whole) + L2 * len(x) * np.r_[w[:-1], 0]
        hessian = (x * (p * (1 - p))[:, None]).T @ x + L2 * len(x) * np.diag(np.r_[np.ones(len(w) - 1), 0])
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return WholeDigitScorer(mean, scale, w[:-1], float(w[-1]))


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
        kind: n for kind, (_, n) in right.items()}, "weights": dict(zip(FEATURES, np.round(scorer.weights, 3).tolist()))},
        indent=1))


if __name__ == "__main__":
    main()
