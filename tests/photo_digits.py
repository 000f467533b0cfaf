"""Real MNIST test digits rendered the way users photograph or scan them.

Each digit is enlarged and placed at a random position on a canvas of random size,
as dark ink on off-white paper (JPEG, with lighting gradient, noise and blur), as
ink on a transparent PNG background, as chalk on a dark board, or as a grey scan.
Used by the tests (accuracy of the bundled model) and by bench/bench_predict.py.

    python tests/photo_digits.py OUT_DIR [--count 500] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import gzip
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

STYLES = ("paper-jpeg", "transparent-png", "chalkboard-png", "grey-scan-png")


def load_mnist_test(mnist_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    images = np.frombuffer(gzip.decompress((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes()), np.uint8, offset=16)
    labels = np.frombuffer(gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()), np.uint8, offset=8)
    return images.reshape(-1, 28, 28), labels


def render(digit: np.ndarray, style: str, rng: np.random.Generator) -> Image.Image:
    """One 28x28 MNIST digit (light on dark) as a user's picture."""
    width, height = int(rng.integers(48, 360)), int(rng.integers(48, 360))
    side = int(min(width, height) * rng.uniform(0.45, 0.9))
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.BICUBIC), np.float32) / 255.0
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    alpha = np.zeros((height, width), np.float32)
    alpha[top : top + side, left : left + side] = np.clip(ink, 0, 1)
    if style == "transparent-png":
        colour = rng.integers(0, 70, 3)
        rgba = np.zeros((height, width, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = (alpha * 255).astype(np.uint8)
        return Image.fromarray(rgba, "RGBA")
    if style == "chalkboard-png":
        board = rng.uniform(20, 70) + rng.normal(0, 4, (height, width))
        chalk = rng.uniform(190, 250)
        grey = board * (1 - alpha) + chalk * alpha
        return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L").convert("RGB")
    # paper: off-white, tinted, lit unevenly
    paper_level = rng.uniform(200, 250)
    gradient = np.linspace(-1, 1, width)[None, :] * rng.uniform(0, 18) + np.linspace(-1, 1, height)[:, None] * rng.uniform(0, 18)
    tint = np.array([0, rng.uniform(-6, 4), rng.uniform(-18, 0)])
    paper = paper_level + gradient[..., None] + tint + rng.normal(0, rng.uniform(1, 6), (height, width, 1))
    ink_colour = np.array([rng.uniform(10, 60), rng.uniform(10, 60), rng.uniform(20, 130)])
    rgb = paper * (1 - alpha[..., None]) + ink_colour * alpha[..., None]
    picture = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    picture = picture.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))
    return picture.convert("L") if style == "grey-scan-png" else picture


def generate(out_dir: Path, mnist_dir: Path, count: int, seed: int = 0) -> list[tuple[Path, int]]:
    """Write ``count`` pictures and labels.csv; returns (path, label) pairs."""
    rng = np.random.default_rng(seed)
    images, labels = load_mnist_test(mnist_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = rng.choice(len(images), size=count, replace=False)
    written = []
    for n, index in enumerate(chosen):
        style = STYLES[n % len(STYLES)]
        picture = render(images[index], style, rng)
        if style == "paper-jpeg":
            path = out_dir / f"{n:05d}.jpg"
            picture.save(path, quality=int(rng.integers(60, 96)))
        else:
            path = out_dir / f"{n:05d}.png"
            picture.save(path)
        written.append((path, int(labels[index])))
    with open(out_dir / "labels.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("file", "label"), *[(p.name, label) for p, label in written]])
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist-dir", type=Path, default=Path(__file__).resolve().parents[1] / "lenet_cli/data/bundled/mnist")
    args = parser.parse_args()
    generate(args.out_dir, args.mnist_dir, args.count, args.seed)
    print(f"wrote {args.count} images and labels.csv to {args.out_dir}")


if __name__ == "__main__":
    main()
