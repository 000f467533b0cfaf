"""Write an IDX dataset for training the classifier on digits as the row reader cuts them: the 60,000 MNIST
training digits, plus the whole-digit arcs of rows composed from them (touching, overlapping or apart), each
prepared exactly as `lenet predict --number` prepares it and labelled by the digit that owns its ink. The
test split is MNIST's own test set, untouched, so accuracies stay comparable.

    python bench/make_row_training_set.py OUT_DIR [--rows 8000] [--seed 0]
    lenet train --dataset idx:OUT_DIR ...
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

from lenet_cli.data.idx import read_idx, write_idx
from lenet_cli.data.search import BUNDLED_DIR
from lenet_cli.reading.graph import arcs_of
from lenet_cli.reading.prepare import arc_images
from make_whole_digit_scorer import compose_row, cut_row, whole_digit_of


def whole_arcs(strength: np.ndarray, owner: np.ndarray, labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The row's arcs that are one whole digit (as the scorer's labels define it): images and their digits."""
    row, strength, owner = cut_row(strength, owner)
    if row is None:
        return np.zeros((0, 1, 28, 28), np.uint8), np.zeros(0, np.uint8)
    arcs = arcs_of(row)
    owners = whole_digit_of(row, arcs, strength, owner)
    keep = [n for n in range(len(arcs)) if owners[n]]
    images = arc_images(row, [arcs[n] for n in keep]) if keep else np.zeros((0, 1, 28, 28), np.uint8)
    return images, np.asarray([labels[owners[n] - 1] for n in keep], np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    mnist = BUNDLED_DIR / "mnist"
    images = read_idx(mnist / "train-images-idx3-ubyte.gz")
    labels = read_idx(mnist / "train-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(args.seed)
    extra_images, extra_labels = [], []
    for _ in range(args.rows):
        chosen = rng.choice(len(images), size=int(rng.integers(2, 7)), replace=False)
        strength, owner, _ = compose_row(images[chosen], rng)
        found, digits = whole_arcs(strength, owner, [int(labels[i]) for i in chosen])
        extra_images.append(found[:, 0])
        extra_labels.append(digits)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    train_images = np.concatenate([images, *extra_images])
    train_labels = np.concatenate([labels, *extra_labels])
    write_idx(args.out_dir / "train-images-idx3-ubyte", train_images)
    write_idx(args.out_dir / "train-labels-idx1-ubyte", train_labels)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with open(mnist / f"{name}.gz", "rb") as source, open(args.out_dir / f"{name}.gz", "wb") as target:
            shutil.copyfileobj(source, target)
    print(f"{len(images)} MNIST training digits and {len(train_images) - len(images)} arcs cut from {args.rows} rows "
          f"written to {args.out_dir}")


if __name__ == "__main__":
    main()
