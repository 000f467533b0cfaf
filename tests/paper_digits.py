"""Real MNIST test digits written on the paper people actually use, photographed.

Kinds (single digits unless stated):

- ``coloured``: strongly coloured card (red, blue, green, orange, purple, yellow), dark pen;
- ``ruled``: a lined notebook, rules crossing the digit, often a red margin;
- ``squared``: squared maths paper, a grey or blue grid crossing the digit;
- ``pencil``: grey pencil on white paper under a strong light gradient and a soft shadow;
- ``number``: a row of 2-5 digits (some close together) on off-white paper; the label is the number;
- ``number_touching``: the same, written fast: neighbours touch or overlap (gaps of -20 % to +2 % of the height);
- ``number_sloped``: the same, the row written on a slope of 6-15 degrees either way.

Every picture is slightly rotated and blurred, as a phone photo is, and saved as JPEG or PNG
at random. Used by the tests (small samples) and by ``bench/bench_paper.py`` (a few hundred each).

    python tests/paper_digits.py OUT_DIR [--per-kind 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import colorsys
import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from photo_digits import load_mnist_test

KINDS = ("coloured", "ruled", "squared", "pencil", "number")
NUMBER_KINDS = ("number", "number_touching", "number_sloped")
GAPS = {"number": (0.05, 0.35), "number_touching": (-0.20, 0.02), "number_sloped": (0.05, 0.35)}  # in heights
# Hue (0..1), saturation and value of the cards: red, blue, green, orange, purple, yellow.
CARDS = ((0.0, 0.75, 0.85), (0.6, 0.7, 0.75), (0.33, 0.6, 0.65), (0.08, 0.8, 0.95), (0.78, 0.55, 0.6),
         (0.15, 0.75, 0.97))


def _ink_alpha(digits: list[np.ndarray], height: int, rng: np.random.Generator,
               gaps: tuple[float, float] = GAPS["number"]) -> np.ndarray:
    """Digits (28x28, light on dark) side by side at ``height`` pixels: ink coverage 0..1. Gaps between
    neighbours are drawn from ``gaps`` (in heights; negative: they overlap, and the ink adds up)."""
    pieces = []
    for digit in digits:
        scaled = np.asarray(Image.fromarray(digit).resize((height, height), Image.BICUBIC), np.float32) / 255.0
        cols = np.nonzero(scaled.max(0) > 0.1)[0]
        pieces.append(np.clip(scaled[:, cols[0] : cols[-1] + 1] if len(cols) else scaled, 0, 1))
    xs = [0]
    for before, after in zip(pieces, pieces[1:]):
        gap = max(int(height * rng.uniform(*gaps)), -(min(before.shape[1], after.shape[1]) // 2))
        xs.append(xs[-1] + before.shape[1] + gap)
    row = np.zeros((height, xs[-1] + pieces[-1].shape[1]), np.float32)
    for x, piece in zip(xs, pieces):
        np.maximum(row[:, x : x + piece.shape[1]], piece, out=row[:, x : x + piece.shape[1]])
    return row


def _slope(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``ink`` turned 6-15 degrees either way, as a row written on a slope."""
    angle = rng.uniform(6, 15) * rng.choice([-1, 1])
    return np.asarray(Image.fromarray(ink, "F").rotate(angle, Image.BICUBIC, expand=True), np.float32)


def _place(ink: np.ndarray, rng: np.random.Generator, margin: float) -> np.ndarray:
    """``ink`` on a larger canvas: about ``margin`` of its size on each side, placed at random."""
    h, w = ink.shape
    height = h + int(h * margin * rng.uniform(0.6, 1.4) * 2)
    width = w + int(max(h, w) * margin * rng.uniform(0.6, 1.4) * 2)
    top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
    canvas = np.zeros((height, width), np.float32)
    canvas[top : top + h, left : left + w] = ink
    return canvas


def _paper_rgb(shape: tuple[int, int], level: float, rng: np.random.Generator, tint=(0.0, -3.0, -10.0)) -> np.ndarray:
    h, w = shape
    gradient = np.linspace(-1, 1, w)[None, :] * rng.uniform(0, 12) + np.linspace(-1, 1, h)[:, None] * rng.uniform(0, 12)
    return level + gradient[..., None] + np.asarray(tint) + rng.normal(0, rng.uniform(1, 4), (h, w, 1))


def _blend(base: np.ndarray, alpha: np.ndarray, colour) -> np.ndarray:
    return base * (1 - alpha[..., None]) + np.asarray(colour, np.float32) * alpha[..., None]


def _pen(rng: np.random.Generator) -> np.ndarray:
    """Black or blue ballpoint, felt-tip or gel: from near black to a light blue."""
    if rng.random() < 0.5:
        return np.array([rng.uniform(10, 50), rng.uniform(10, 50), rng.uniform(20, 110)])
    return np.array([rng.uniform(30, 90), rng.uniform(50, 110), rng.uniform(140, 200)])


def _ruling(shape: tuple[int, int], digit_height: int, rng: np.random.Generator, squared: bool) -> list[tuple]:
    """(coverage, colour) of the rules (and margin or grid) a notebook page has."""
    tilt = rng.uniform(-0.02, 0.02)
    spacing = digit_height * (rng.uniform(0.45, 0.7) if squared else rng.uniform(0.7, 1.0))
    thickness = rng.uniform(1.0, 2.5)
    colour = (rng.choice([(120, 160, 215), (150, 150, 150), (95, 130, 200), (100, 100, 105), (70, 110, 190)])
              if squared else (rng.uniform(80, 160), rng.uniform(120, 190), rng.uniform(190, 235)))
    layers = [(_rule_lines(shape, spacing, thickness, False, rng, tilt), colour)]
    if squared:
        layers.append((_rule_lines(shape, spacing, thickness, True, rng, -tilt), colour))
    elif rng.random() < 0.6:  # a red margin, somewhere across the page
        layers.append((_single_line(shape, rng.uniform(0.1, 0.9), rng.uniform(1.5, 3.0), tilt), (215, 70, 80)))
    return layers


def _rule_lines(shape, spacing, thickness, vertical, rng, tilt) -> np.ndarray:
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    along, across = (x, y) if vertical else (y, x)
    position = (along + np.tan(tilt) * across + rng.uniform(0, spacing)) % spacing
    distance = np.abs(position - spacing / 2)  # 0 at the middle of a line
    return np.clip(thickness / 2 + 0.5 - distance, 0.0, 1.0) * rng.uniform(0.7, 1.0)


def _single_line(shape, where: float, thickness: float, tilt: float) -> np.ndarray:
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    distance = np.abs(x - where * w - np.tan(tilt) * y)
    return np.clip(thickness / 2 + 0.5 - distance, 0.0, 1.0)


def _shadow(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Brightness factor: a strong gradient across the page and a soft-edged shadow over part of it."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    along = (np.cos(angle) * x / w + np.sin(angle) * y / h)
    along = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
    light = 1.0 - rng.uniform(0.3, 0.65) * along
    edge_angle = rng.uniform(0, 2 * np.pi)
    side = np.cos(edge_angle) * (x - w * rng.uniform(0.2, 0.8)) + np.sin(edge_angle) * (y - h * rng.uniform(0.2, 0.8))
    softness = min(h, w) * rng.uniform(0.05, 0.2)
    shadow = 1.0 - rng.uniform(0.2, 0.4) / (1.0 + np.exp(-side / softness))
    return light * shadow


def render(digits: list[np.ndarray], kind: str, rng: np.random.Generator) -> Image.Image:
    """One picture of ``digits`` (28x28 MNIST, light on dark) on paper of ``kind``."""
    number = kind in NUMBER_KINDS
    height = int(rng.integers(40, 160)) if number else int(rng.integers(48, 220))
    ink = _ink_alpha(digits, height, rng, GAPS.get(kind, GAPS["number"]))
    alpha = _place(_slope(ink, rng) if kind == "number_sloped" else ink, rng, margin=0.25 if number else 0.3)
    shape = alpha.shape
    if kind == "coloured":
        hue, saturation, value = CARDS[int(rng.integers(len(CARDS)))]
        card = np.array(colorsys.hsv_to_rgb(hue + rng.uniform(-0.02, 0.02), saturation * rng.uniform(0.85, 1.1),
                                            value * rng.uniform(0.9, 1.05))) * 255
        rgb = _blend(_paper_rgb(shape, 0.0, rng, tint=card), alpha, _pen(rng))
    elif kind in ("ruled", "squared"):
        rgb = _paper_rgb(shape, rng.uniform(225, 250), rng)
        for coverage, colour in _ruling(shape, height, rng, squared=kind == "squared"):
            rgb = _blend(rgb, coverage, colour)
        rgb = _blend(rgb, alpha, _pen(rng))
    elif kind == "pencil":
        grey = rng.uniform(90, 175)  # graphite: grey, not black, and uneven
        pressure = np.clip(alpha * rng.uniform(0.55, 0.9, alpha.shape), 0, 1)
        rgb = _blend(_paper_rgb(shape, rng.uniform(235, 252), rng), pressure, (grey, grey, grey + 5))
    else:  # number
        rgb = _blend(_paper_rgb(shape, rng.uniform(215, 250), rng), alpha, _pen(rng))
    paper = tuple(int(c) for c in np.median(np.clip(rgb, 0, 255).reshape(-1, 3), axis=0))
    picture = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").rotate(
        rng.uniform(-4, 4), Image.BILINEAR, expand=False, fillcolor=paper)  # a photo is never quite square
    if kind == "pencil":  # the light falls on the page as it lies
        shaded = np.asarray(picture, np.float32) * _shadow(shape, rng)[..., None]
        picture = Image.fromarray(np.clip(shaded, 0, 255).astype(np.uint8), "RGB")
    return picture.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))


def generate(out_dir: Path, mnist_dir: Path, per_kind: int, seed: int = 0,
             kinds: tuple[str, ...] = KINDS) -> list[tuple[Path, str, str]]:
    """Write ``per_kind`` pictures of each kind and labels.csv; returns (path, kind, label) triples."""
    rng = np.random.default_rng(seed)
    images, labels = load_mnist_test(mnist_dir)
    written = []
    for kind in kinds:
        directory = out_dir / kind
        directory.mkdir(parents=True, exist_ok=True)
        for n in range(per_kind):
            count = int(rng.integers(2, 6)) if kind in NUMBER_KINDS else 1
            chosen = rng.choice(len(images), size=count, replace=False)
            picture = render([images[i] for i in chosen], kind, rng)
            label = "".join(str(int(labels[i])) for i in chosen)
            path = directory / f"{n:04d}.{'jpg' if rng.random() < 0.5 else 'png'}"
            if path.suffix == ".jpg":
                picture.save(path, quality=int(rng.integers(70, 96)))
            else:
                picture.save(path)
            written.append((path, kind, label))
    with open(out_dir / "labels.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("file", "kind", "label"),
                                      *[(str(p.relative_to(out_dir)), k, label) for p, k, label in written]])
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist-dir", type=Path, default=Path(__file__).resolve().parents[1] / "lenet_cli/data/bundled/mnist")
    args = parser.parse_args()
    generate(args.out_dir, args.mnist_dir, args.per_kind, args.seed)
    print(f"wrote {args.per_kind} images of each kind ({', '.join(KINDS)}) and labels.csv to {args.out_dir}")


if __name__ == "__main__":
    main()
