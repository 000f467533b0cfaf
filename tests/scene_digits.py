"""Phone photos of handwritten digits on paper, rendered to measure the digit reader.

Each picture is a small scene. A sheet (white paper, ruled notebook, squared maths paper or
coloured card) carries digits written in pen, marker or pencil; a camera then looks at it with a
slight rotation and perspective, under uneven light and cast shadows, with focus blur, sensor noise
and JPEG compression. The digits are MNIST test-split glyphs, upscaled smoothly and used as ink
coverage, or handwriting from synthetic writers: stroke skeletons per digit class, varied per writer
(slant, proportions, pen width, open or closed loops, serifs and bars) and traced with an
anti-aliased pen.

This renderer is independent of the project's first photo renderer: it shares no code and no
parameters with it, so a reader tuned on one can be reported on the other.

    python tests/scene_digits.py OUT_DIR --per-kind 8 --seed 0
"""

from __future__ import annotations

import argparse
import colorsys
import gzip
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = (
    "card", "pencil", "ruled", "squared", "clean_mnist", "clean_other", "blank",
    "number_gap", "number_touching", "number_sloped",
)
REPO = Path(__file__).resolve().parents[1]
SUPERSAMPLE = 4  # pen strokes are drawn this many times larger, then averaged down
Array = np.ndarray


# --- MNIST test split ------------------------------------------------------------------------

def read_idx(path: Path) -> Array:
    """Read one gzipped IDX file of unsigned bytes into an array of its declared shape."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    if data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


@dataclass(frozen=True)
class Mnist:
    """The MNIST test images (n, 28, 28) and their labels, indexed by digit."""

    images: Array
    by_digit: dict[str, Array]

    def pick(self, rng: np.random.Generator, digit: str) -> Array:
        """One random test image of this digit as grey levels in [0, 1], stray specks wiped off;
        the few images that fall apart into fragments are passed over."""
        for _ in range(50):
            grey = self.images[rng.choice(self.by_digit[digit])].astype(np.float32)
            grey /= grey.max()
            labels, sizes = _ink_pieces(grey > 0.45)
            if _is_whole(sizes):
                break
        kept = 1 + np.flatnonzero(sizes >= 0.04 * sizes.sum())
        return grey * _grow(np.isin(labels, kept))


def _ink_pieces(ink: Array) -> tuple[Array, Array]:
    """Label the 4-connected pieces of a boolean image (0 is background); return labels and piece sizes."""
    labels = np.zeros(ink.shape, np.int32)
    sizes = []
    for start in zip(*np.nonzero(ink)):
        if labels[start]:
            continue
        labels[start], stack, size = len(sizes) + 1, [start], 0
        while stack:
            y, x = stack.pop()
            size += 1
            for near in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= near[0] < ink.shape[0] and 0 <= near[1] < ink.shape[1] and ink[near] and not labels[near]:
                    labels[near] = len(sizes) + 1
                    stack.append(near)
        sizes.append(size)
    return labels, np.array(sizes)


def _is_whole(sizes: Array) -> bool:
    """One piece of ink, or two (a 5's separate bar), and no scattered fragments."""
    ranked = np.sort(sizes)[::-1]
    return ranked[:2].sum() >= 0.96 * ranked.sum() and ranked[0] >= 0.6 * ranked.sum()


def _grow(mask: Array) -> Array:
    """The mask and every pixel touching it."""
    padded = np.pad(mask, 1)
    h, w = mask.shape
    return np.any([padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=0)


@lru_cache(maxsize=2)
def load_mnist_test(mnist_dir: Path) -> Mnist:
    """The test split only: t10k-images and t10k-labels from mnist_dir."""
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    return Mnist(images, {str(d): np.flatnonzero(labels == d) for d in range(10)})


def default_mnist_dir() -> Path:
    """The shared data folder beside the repository when present, else the copy bundled with the package."""
    shared = REPO.parent / "shared" / "data" / "mnist"
    return shared if (shared / "t10k-images-idx3-ubyte.gz").exists() else REPO / "lenet_cli/data/bundled/mnist"


# --- small numeric helpers -------------------------------------------------------------------

def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: float) -> Array:
    """Smooth random field in [0, 1] with about `cells` bumps along the longer side."""
    h, w = shape
    ny, nx = max(2, round(cells * h / max(h, w)) + 2), max(2, round(cells * w / max(h, w)) + 2)
    small = Image.fromarray(rng.random((ny, nx)).astype(np.float32), "F")
    return np.clip(np.asarray(small.resize((w, h), Image.BICUBIC)), 0.0, 1.0)


def _smoothstep(lo: float, hi: float, x: Array) -> Array:
    """0 below lo, 1 above hi, a smooth S between."""
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _blur(values: Array, sigma: float) -> Array:
    """Gaussian blur of a 2-D float array (a small sigma: a few pixels at most), edges repeated."""
    reach = max(1, int(np.ceil(3 * sigma)))
    weights = np.exp(-0.5 * (np.arange(-reach, reach + 1) / sigma) ** 2)
    weights /= weights.sum()
    for axis in (0, 1):
        padded = np.pad(values, [(reach, reach) if a == axis else (0, 0) for a in (0, 1)], mode="edge")
        size = values.shape[axis]
        values = sum(w * np.take(padded, np.arange(i, i + size), axis=axis) for i, w in enumerate(weights))
    return values.astype(np.float32)


def _hsv(h: float, s: float, v: float) -> Array:
    """An RGB colour in [0, 1] from hue (wrapping around), saturation and value."""
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), np.float32)


def _lab(rgb: Array) -> Array:
    """CIELAB (D65) of sRGB colours in [0, 1], shape (..., 3)."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.2126, 0.0193], [0.3576, 0.7152, 0.1192], [0.1805, 0.0722, 0.9505]])
    xyz = xyz / np.array([0.9505, 1.0, 1.089])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def _crop_to_ink(mask: Array, level: float = 0.04) -> Array:
    """The smallest rectangle of the mask holding all coverage above `level`."""
    rows, cols = np.flatnonzero(mask.max(1) > level), np.flatnonzero(mask.max(0) > level)
    return mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


# --- glyphs: MNIST bitmaps and synthetic writers ---------------------------------------------

@dataclass(frozen=True)
class MnistGlyph:
    """An MNIST test digit, drawn by turning its smoothly upscaled grey levels into ink coverage."""

    grey: Array  # the 28x28 test image, floats in [0, 1]

    @property
    def aspect(self) -> float:
        """Width over height of the ink."""
        ink = _crop_to_ink(self.grey, 0.33)
        return ink.shape[1] / ink.shape[0]

    def rasterise(self, height: int, weight: float) -> Array:
        """Coverage with the inked part this tall; weight > 1 thickens the strokes (a lower grey
        threshold), and faint grey the threshold leaves out does not count towards the height."""
        threshold = float(np.clip(0.33 - 0.25 * (weight - 1.0), 0.15, 0.38))
        rows, cols = np.flatnonzero(self.grey.max(1) > threshold), np.flatnonzero(self.grey.max(0) > threshold)
        window = np.pad(self.grey, 2)[rows[0]:rows[-1] + 5, cols[0]:cols[-1] + 5]
        scale = height / (rows[-1] - rows[0] + 1)
        size = (max(2, round(window.shape[1] * scale)), max(2, round(window.shape[0] * scale)))
        grey = np.asarray(Image.fromarray(window, "F").resize(size, Image.BICUBIC))
        band = min(threshold, 1.0 - threshold, 1.2 / scale)  # about one output pixel of edge
        return _crop_to_ink(np.clip((grey - threshold) / (2 * band) + 0.5, 0.0, 1.0))


@dataclass(frozen=True)
class Writer:
    """One synthetic person's handwriting: habits shared by every digit they write."""

    slant: float  # degrees, positive leans right
    width: float  # horizontal stretch of the skeletons
    pen: float  # stroke width as a fraction of the digit height
    wobble: float  # slow tremor amplitude, in digit heights
    loop_gap: float  # degrees left open in 0, 6 and 9 (negative: the stroke overshoots)
    habits: frozenset[str]


HABITS = {  # habit: how many writers have it
    "one_flag": 0.6, "one_base": 0.25, "seven_bar": 0.3, "seven_serif": 0.2, "four_closed": 0.5,
    "three_flat": 0.25, "eight_loops": 0.4, "nine_hook": 0.35, "two_curly": 0.3,
}


def random_writer(rng: np.random.Generator) -> Writer:
    """A new writer with random slant, proportions, pen and habits."""
    habits = frozenset(name for name, share in HABITS.items() if rng.random() < share)
    return Writer(
        slant=float(rng.uniform(-8, 24)), width=float(rng.uniform(0.8, 1.25)), pen=float(rng.uniform(0.06, 0.12)),
        wobble=float(rng.uniform(0.0, 0.02)), loop_gap=float(rng.uniform(-18, 28)), habits=habits,
    )


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float) -> Array:
    """Points on an elliptic arc; angles in degrees, increasing angles turn anticlockwise on the page."""
    t = np.radians(np.linspace(start, stop, max(8, int(abs(stop - start) / 5))))
    return np.stack([cx + rx * np.cos(t), cy - ry * np.sin(t)], 1)


def _curve(*points: tuple[float, float]) -> Array:
    """A cubic Bézier curve through four control points."""
    p = np.array(points, np.float64)
    t = np.linspace(0, 1, 24)[:, None]
    return (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t ** 2 * p[2] + t ** 3 * p[3]


def _path(*parts: Array | list[tuple[float, float]]) -> Array:
    """One stroke joining points, arcs and curves in order."""
    return np.concatenate([np.asarray(part, np.float64) for part in parts])


# Digit skeletons: the strokes a person draws, in pen order, with x to the right and y down in
# digit heights (0 at the top, 1 at the baseline). The writer's habits pick among the variants.

def _zero(w: Writer) -> list[Array]:
    return [_arc(0.3, 0.5, 0.3, 0.5, 95, 455 - w.loop_gap)]


def _one(w: Writer) -> list[Array]:
    stem = [(0.26, 0.0), (0.22, 1.0)]
    strokes = [_path([(0.04, 0.26)], stem) if "one_flag" in w.habits else _path(stem)]
    if "one_base" in w.habits and "one_flag" in w.habits:
        strokes.append(_path([(0.02, 1.0), (0.44, 1.0)]))
    return strokes


def _two(w: Writer) -> list[Array]:
    top = _arc(0.3, 0.29, 0.28, 0.28, 160, -35)
    neck = _curve(tuple(top[-1]), (0.48, 0.62), (0.16, 0.8), (0.03, 0.98))
    if "two_curly" in w.habits:
        curl = _arc(0.12, 0.9, 0.09, 0.08, 200, 450)
        return [_path(top, neck[:-4], curl, [(0.62, 0.96)])]
    return [_path(top, neck, [(0.62, 0.97)])]


def _three(w: Writer) -> list[Array]:
    lower = _arc(0.3, 0.72, 0.3, 0.27, 110, -155)
    if "three_flat" in w.habits:
        return [_path([(0.04, 0.02), (0.56, 0.02), (0.22, 0.43)], lower)]
    upper = _arc(0.28, 0.25, 0.25, 0.24, 150, -105)
    return [_path(upper, lower)]


def _four(w: Writer) -> list[Array]:
    if "four_closed" in w.habits:
        return [_path([(0.44, 0.0), (0.0, 0.66), (0.66, 0.66)]), _path([(0.44, 0.0), (0.44, 1.0)])]
    return [_path([(0.08, 0.0), (0.03, 0.62), (0.66, 0.62)]), _path([(0.48, 0.1), (0.46, 1.0)])]


def _five(w: Writer) -> list[Array]:
    body = _path([(0.12, 0.02), (0.08, 0.45)], _arc(0.3, 0.69, 0.28, 0.29, 145, -150))
    return [body, _path([(0.12, 0.02), (0.58, 0.0)])]


def _six(w: Writer) -> list[Array]:
    sweep = _curve((0.52, 0.0), (0.22, 0.1), (0.02, 0.35), (0.03, 0.7))
    return [_path(sweep, _arc(0.3, 0.72, 0.27, 0.27, 180, 510 - w.loop_gap))]


def _seven(w: Writer) -> list[Array]:
    head = [(0.02, 0.14), (0.02, 0.03)] if "seven_serif" in w.habits else [(0.02, 0.03)]
    strokes = [_path(head, _curve((0.62, 0.02), (0.5, 0.3), (0.32, 0.6), (0.24, 1.0)))]
    if "seven_bar" in w.habits:
        strokes.append(_path([(0.2, 0.52), (0.58, 0.5)]))
    return strokes


def _eight(w: Writer) -> list[Array]:
    if "eight_loops" in w.habits:
        return [_arc(0.3, 0.24, 0.21, 0.24, 80, 440), _arc(0.3, 0.73, 0.28, 0.27, 90, 450)]
    upper = _arc(0.3, 0.24, 0.22, 0.24, 40, 220)
    cross = _curve(tuple(upper[-1]), (0.22, 0.48), (0.5, 0.55), (0.58, 0.72))
    lower = _arc(0.3, 0.74, 0.28, 0.26, -5, -200)
    back = _curve(tuple(lower[-1]), (0.08, 0.52), (0.5, 0.4), tuple(upper[0]))
    return [_path(upper, cross, lower, back)]


def _nine(w: Writer) -> list[Array]:
    loop = _arc(0.3, 0.27, 0.27, 0.27, 15, 375 - w.loop_gap)
    if "nine_hook" in w.habits:
        stem = _curve((0.57, 0.3), (0.57, 0.7), (0.5, 1.0), (0.3, 0.98))
    else:
        stem = _path([(0.57, 0.3), (0.5, 1.0)])
    return [_path(loop, stem)]


SKELETONS: dict[str, Callable[[Writer], list[Array]]] = {
    "0": _zero, "1": _one, "2": _two, "3": _three, "4": _four,
    "5": _five, "6": _six, "7": _seven, "8": _eight, "9": _nine,
}


def _resample(stroke: Array, step: float) -> Array:
    """Evenly spaced points along a polyline."""
    lengths = np.r_[0.0, np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))]
    at = np.linspace(0.0, lengths[-1], max(2, int(lengths[-1] / step) + 1))
    return np.stack([np.interp(at, lengths, stroke[:, 0]), np.interp(at, lengths, stroke[:, 1])], 1)


def _round_corners(stroke: Array, window: int = 5) -> Array:
    """Moving average that keeps both ends: a hand turns corners a little round."""
    if len(stroke) <= window:
        return stroke
    kernel = np.ones(window) / window
    inner = np.stack([np.convolve(stroke[:, i], kernel, "valid") for i in range(2)], 1)
    return np.concatenate([stroke[:1], inner, stroke[-1:]])


def _handwrite(strokes: list[Array], w: Writer, rng: np.random.Generator) -> list[Array]:
    """This instance of the writer's skeleton: slanted, stretched, trembling, one digit high."""
    strokes = [_round_corners(_resample(s, 0.01)) for s in strokes]
    slant = np.tan(np.radians(w.slant + rng.normal(0, 2)))
    stretch = w.width * rng.uniform(0.93, 1.07)
    freq, phase = rng.uniform(0.6, 1.6, 2), rng.uniform(0, 2 * np.pi, 2)
    shaped = []
    for s in strokes:
        x, y = s[:, 0] * stretch, s[:, 1]
        x = x + slant * (1.0 - y) + w.wobble * np.sin(2 * np.pi * freq[0] * y + phase[0])
        y = y + w.wobble * np.sin(2 * np.pi * freq[1] * x + phase[1])
        shaped.append(np.stack([x, y], 1))
    points = np.concatenate(shaped)
    low, span = points.min(0), np.ptp(points[:, 1])
    return [(s - low) / span for s in shaped]


@dataclass(frozen=True)
class StrokeGlyph:
    """A digit from a synthetic writer: strokes in digit heights, traced with a round pen."""

    strokes: list[Array]
    pen: float

    @classmethod
    def write(cls, digit: str, writer: Writer, rng: np.random.Generator) -> StrokeGlyph:
        """This writer's hand writing this digit once."""
        return cls(_handwrite(SKELETONS[digit](writer), writer, rng), writer.pen)

    @property
    def aspect(self) -> float:
        """Width over height of the ink, about."""
        return float(np.ptp(np.concatenate(self.strokes)[:, 0]) + self.pen)

    def rasterise(self, height: int, weight: float) -> Array:
        """Coverage with an anti-aliased pen whose pressure swells and thins along each stroke."""
        radius = max(0.7, self.pen * weight * height / 2)
        pad = radius + 2
        width = self.aspect * height + 2 * pad
        canvas = Image.new("L", (int(width * SUPERSAMPLE) + 1, int((height + 2 * pad) * SUPERSAMPLE) + 1))
        draw = ImageDraw.Draw(canvas)
        for stroke in self.strokes:
            _trace(draw, (stroke * height + pad) * SUPERSAMPLE, radius * SUPERSAMPLE)
        small = canvas.reduce(SUPERSAMPLE)
        return _crop_to_ink(np.asarray(small, np.float32) / 255.0)


def _trace(draw: ImageDraw.ImageDraw, points: Array, radius: float) -> None:
    """Stamp discs along a stroke, thinner at its ends, like a pen touching down and lifting."""
    dense = _resample(points, max(1.0, radius * 0.3))
    along = np.linspace(0.0, 1.0, len(dense))
    ends = np.minimum(along, 1.0 - along) * len(dense) * max(1.0, radius * 0.3) / (radius * 4)
    pressure = (0.88 + 0.12 * np.sin(3 * np.pi * along)) * (0.6 + 0.4 * np.clip(ends, 0, 1))
    for (x, y), r in zip(dense, radius * pressure):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)


Glyph = MnistGlyph | StrokeGlyph


# --- what is written: labels and their glyphs -------------------------------------------------

def _digit_glyph(digit: str, source: str, rng: np.random.Generator, mnist: Mnist, writer: Writer) -> Glyph:
    """The digit from an MNIST test image, or from the synthetic writer."""
    if source == "mnist":
        return MnistGlyph(mnist.pick(rng, digit))
    return StrokeGlyph.write(digit, writer, rng)


def _glyphs_for(kind: str, rng: np.random.Generator, mnist: Mnist) -> tuple[str, list[Glyph]]:
    """The label and the glyphs that write it; the blank kind writes nothing."""
    if kind == "blank":
        return "", []
    if kind.startswith("number"):
        count = int(rng.integers(2, 6))
        label = str(rng.integers(1, 10)) + "".join(str(d) for d in rng.integers(0, 10, count - 1))
        source = rng.choice(["mnist", "synthetic"])
    else:
        label = str(rng.integers(0, 10))
        source = {"clean_mnist": "mnist", "clean_other": "synthetic"}.get(kind) or rng.choice(["mnist", "synthetic"])
    writer = random_writer(rng)
    return label, [_digit_glyph(d, str(source), rng, mnist, writer) for d in label]


# --- sheet styles per kind --------------------------------------------------------------------

@dataclass(frozen=True)
class Style:
    """The sheet, the writing tool and how the photo is taken."""

    paper: Array  # RGB in [0, 1]
    ruling: str  # plain, ruled or squared
    tool: str  # pen, marker or pencil
    ink: Array  # RGB in [0, 1]
    light: float  # strongest light gradient, brightest over darkest
    shadow: float  # chance of a cast shadow
    careful: bool  # a careful photo: little blur and noise, good JPEG


def _white_paper(rng: np.random.Generator) -> Array:
    """White to off-white, a little warm or cool."""
    tint = rng.normal(0, 0.012, 3) + np.array([0.01, 0.0, -0.012]) * rng.uniform(-1, 2)
    return np.clip(rng.uniform(0.86, 0.98) + tint, 0, 1).astype(np.float32)


def _card_paper(rng: np.random.Generator) -> Array:
    """Coloured card of any hue, from pastel to saturated and from dark to light."""
    return _hsv(rng.random(), rng.uniform(0.12, 1.0), rng.uniform(0.18, 1.0))


def _pen_ink(rng: np.random.Generator) -> Array:
    """Black, blue or blue-black ballpoint and gel inks."""
    choice = rng.choice(["black", "blue", "navy"], p=[0.4, 0.4, 0.2])
    if choice == "black":
        return np.full(3, rng.uniform(0.05, 0.2), np.float32) + rng.normal(0, 0.01, 3).astype(np.float32)
    if choice == "blue":
        return _hsv(rng.uniform(0.6, 0.68), rng.uniform(0.6, 0.9), rng.uniform(0.4, 0.7))
    return _hsv(rng.uniform(0.6, 0.7), rng.uniform(0.4, 0.8), rng.uniform(0.15, 0.35))


def _marker_ink(rng: np.random.Generator) -> Array:
    """Black or blue markers, or red, green, blue, purple and pink ones."""
    if rng.random() < 0.5:
        return _pen_ink(rng)
    hue = rng.choice([0.0, 0.33, 0.6, 0.75, 0.95]) + rng.normal(0, 0.02)
    return _hsv(hue, rng.uniform(0.7, 1), rng.uniform(0.4, 0.7))


def _graphite(rng: np.random.Generator) -> Array:
    """Grey graphite with its faint blue sheen."""
    return np.full(3, rng.uniform(0.22, 0.42), np.float32) + np.float32(0.02) * np.array([-1, 0, 1], np.float32)


def _contrasting_ink(rng: np.random.Generator, paper: Array) -> Array:
    """Any ink colour that, laid at 80 % cover, differs from the card by 15 or more in CIELAB;
    low contrasts are common, and a third of the inks differ from the card mainly in hue and
    chroma rather than lightness."""
    candidates = np.array([_hsv(rng.random(), rng.random(), rng.random()) for _ in range(600)])
    lab, card = _lab(paper + 0.8 * (candidates - paper)), _lab(paper)
    delta_e = np.linalg.norm(lab - card, axis=1)
    delta_l = np.abs(lab[:, 0] - card[0])
    chroma_only = (delta_l < 8) & (delta_e >= 18)
    if rng.random() < 0.33 and chroma_only.any():
        return candidates[rng.choice(np.flatnonzero(chroma_only))]
    target = 15 + 70 * rng.random() ** 1.6
    return candidates[np.argmin(np.where(delta_e >= 15, np.abs(delta_e - target), np.inf))]


def _choose_tool(rng: np.random.Generator, shares: dict[str, float]) -> tuple[str, Array]:
    """A writing tool drawn with these shares, and its ink."""
    tool = str(rng.choice(list(shares), p=list(shares.values())))
    return tool, {"pen": _pen_ink, "marker": _marker_ink, "pencil": _graphite}[tool](rng)


def _style_card(rng: np.random.Generator) -> Style:
    """Coloured card, ink of any colour that stays readable on it, uneven light."""
    paper = _card_paper(rng)
    tool = str(rng.choice(["pen", "marker"]))
    return Style(paper, "plain", tool, _contrasting_ink(rng, paper), rng.uniform(1.3, 2.8), 0.3, False)


def _style_pencil(rng: np.random.Generator) -> Style:
    """Pencil on white paper under a strong gradient (up to 4:1) and always a shadow."""
    return Style(_white_paper(rng), "plain", "pencil", _graphite(rng), rng.uniform(2.0, 4.0), 1.0, False)


def _style_lined(ruling: str) -> Callable[[np.random.Generator], Style]:
    """Ruled or squared white paper, in pen, marker or pencil."""
    def choose(rng: np.random.Generator) -> Style:
        tool, ink = _choose_tool(rng, {"pen": 0.6, "marker": 0.2, "pencil": 0.2})
        return Style(_white_paper(rng), ruling, tool, ink, rng.uniform(1.0, 3.0), 0.4, False)
    return choose


def _style_clean(rng: np.random.Generator) -> Style:
    """White paper, a dark pen, soft even light: a careful photo."""
    return Style(_white_paper(rng), "plain", "pen", _pen_ink(rng), rng.uniform(1.0, 1.4), 0.0, True)


def _style_any_sheet(rng: np.random.Generator) -> Style:
    """Plain, ruled, squared or coloured sheets, in pen or pencil (numbers and blank pages)."""
    sheet = str(rng.choice(["plain", "ruled", "squared", "card"]))
    if sheet == "card":
        return _style_card(rng)
    tool, ink = _choose_tool(rng, {"pen": 0.6, "pencil": 0.3, "marker": 0.1})
    return Style(_white_paper(rng), sheet, tool, ink, rng.uniform(1.0, 3.5), 0.45, False)


STYLES: dict[str, Callable[[np.random.Generator], Style]] = {
    "card": _style_card, "pencil": _style_pencil, "ruled": _style_lined("ruled"),
    "squared": _style_lined("squared"), "clean_mnist": _style_clean, "clean_other": _style_clean,
    "blank": _style_any_sheet, "number_gap": _style_any_sheet, "number_touching": _style_any_sheet,
    "number_sloped": _style_any_sheet,
}
TOOL_WEIGHT = {"pen": (0.85, 1.15), "marker": (1.2, 1.45), "pencil": (0.8, 1.0)}  # stroke thickness


# --- layout: picture size and the written content ---------------------------------------------

@dataclass(frozen=True)
class Layout:
    """A picture's size and what is written on it, in picture pixels."""

    size: tuple[int, int]  # width, height
    ink: Array | None  # coverage of the written content
    origin: tuple[int, int]  # top-left corner of `ink` in the picture
    unit: float  # digit height in pixels (the size of rulings follows it)


def _place(rng: np.random.Generator, ink: Array, size: tuple[int, int]) -> tuple[int, int]:
    """A random top-left corner that keeps the content at least 6 % from every border."""
    def axis(room: int, extent: int) -> int:
        low, high = 0.06 * room, room - extent - 0.06 * room
        return round(rng.uniform(low, high) if high > low else (room - extent) / 2)
    return axis(size[0], ink.shape[1]), axis(size[1], ink.shape[0])


def _layout_single(rng: np.random.Generator, glyph: Glyph, weight: float) -> Layout:
    """One digit filling 30-70 % of the picture height; the long side is 120-640 px."""
    long_side = np.exp(rng.uniform(np.log(120), np.log(640)))
    fill, aspect = rng.uniform(0.3, 0.7), rng.uniform(0.7, 1.45)
    height = long_side / max(aspect, 1.0)
    ink = glyph.rasterise(max(12, round(fill * height)), weight)
    size = (max(round(height * aspect), round(ink.shape[1] / 0.86)), round(height))
    return Layout(size, ink, _place(rng, ink, size), float(ink.shape[0]))


def _row_ink(rng: np.random.Generator, glyphs: list[Glyph], height: float, weight: float,
             gaps: tuple[float, float]) -> Array:
    """The digits side by side, bottoms roughly aligned, gaps (in digit heights) drawn from `gaps`."""
    masks = [g.rasterise(max(10, round(height * rng.uniform(0.9, 1.05))), weight) for g in glyphs]
    xs = [0]
    for before, after in zip(masks, masks[1:]):
        gap = max(rng.uniform(*gaps) * height, -0.25 * min(before.shape[1], after.shape[1]))
        xs.append(round(xs[-1] + before.shape[1] + gap))
    top = max(m.shape[0] for m in masks)
    ys = [round(top - m.shape[0] + rng.normal(0, 0.03) * height) for m in masks]
    row = np.zeros((top + round(0.2 * height) + 2, max(x + m.shape[1] for x, m in zip(xs, masks)) + 1), np.float32)
    shift = -min(ys)
    for x, y, m in zip(xs, ys, masks):
        region = row[y + shift:y + shift + m.shape[0], x:x + m.shape[1]]
        np.maximum(region, m, out=region)
    return _crop_to_ink(row)


def _layout_number(rng: np.random.Generator, glyphs: list[Glyph], weight: float, kind: str) -> Layout:
    """A row of digits: 50-86 % of the width, 25-60 % of the height, long side about 200-600 px."""
    gaps = {"number_gap": (0.1, 0.45), "number_touching": (-0.2, 0.02)}.get(kind, (0.06, 0.35))
    slope = rng.uniform(6, 15) * rng.choice([-1, 1]) if kind == "number_sloped" else 0.0
    fill_w, fill_h, long_side = rng.uniform(0.5, 0.86), rng.uniform(0.25, 0.6), rng.uniform(200, 600)
    width_u = sum(g.aspect for g in glyphs) + (len(glyphs) - 1) * sum(gaps) / 2
    cos, sin = abs(np.cos(np.radians(slope))), abs(np.sin(np.radians(slope)))
    span_w, span_h = width_u * cos + sin, width_u * sin + cos
    height = long_side / max(span_w / fill_w, span_h / fill_h)
    ink = _row_ink(rng, glyphs, height, weight, gaps)
    if slope:
        ink = _crop_to_ink(np.asarray(Image.fromarray(ink, "F").rotate(slope, Image.BICUBIC, expand=True)))
    size = (round(ink.shape[1] / fill_w), round(ink.shape[0] / fill_h))
    return Layout(size, ink, _place(rng, ink, size), height)


def _layout_blank(rng: np.random.Generator) -> Layout:
    """A picture with nothing written; rulings are sized as if digits 20-50 % of its height were."""
    long_side, aspect = np.exp(rng.uniform(np.log(120), np.log(640))), rng.uniform(0.6, 1.7)
    size = (round(long_side * min(aspect, 1.0)), round(long_side / max(aspect, 1.0)))
    return Layout(size, None, (0, 0), size[1] * rng.uniform(0.2, 0.5))


# --- the sheet: paper, printed lines, ink -----------------------------------------------------

def _paper(rng: np.random.Generator, shape: tuple[int, int], colour: Array) -> Array:
    """Paper of this colour with soft blotches and fine fibre grain."""
    blotch = _smooth_noise(rng, shape, rng.uniform(2, 6)) - 0.5
    fibre = _blur(rng.normal(0, 1, shape).astype(np.float32), 0.7)
    shade = 1 + rng.uniform(0.02, 0.06) * blotch + rng.uniform(0.004, 0.015) * fibre
    return colour[None, None, :] * shade[..., None]


def _lines(coords: Array, spacing: float, offset: float, width: float) -> Array:
    """Coverage of evenly spaced anti-aliased lines across one axis."""
    distance = np.abs((coords - offset + spacing / 2) % spacing - spacing / 2)
    return np.clip(width / 2 + 0.5 - distance, 0.0, 1.0)


def _print(sheet: Array, coverage: Array, colour: Array, opacity: float) -> None:
    """Lay a colour over the sheet in place, as much as coverage times opacity."""
    alpha = (coverage * opacity)[..., None]
    sheet *= 1 - alpha
    sheet += alpha * colour


def _rule(rng: np.random.Generator, sheet: Array, ruling: str, unit: float, base: tuple[float, float]) -> None:
    """Print notebook rules (blue rules and a red margin) or a squared grid, sized by the writing."""
    h, w = sheet.shape[:2]
    rows, cols = np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]
    thin = max(0.8, max(h, w) * rng.uniform(0.0015, 0.0035))
    if ruling == "ruled":
        spacing = unit * rng.uniform(0.4, 1.3)
        offset = base[1] + rng.uniform(-0.04, 0.06) * unit if rng.random() < 0.5 else rng.uniform(0, spacing)
        blue = np.array([rng.uniform(0.4, 0.65), rng.uniform(0.6, 0.8), rng.uniform(0.85, 0.98)], np.float32)
        _print(sheet, np.broadcast_to(_lines(rows, spacing, offset, thin), (h, w)), blue, rng.uniform(0.5, 0.9))
        margin = base[0] - rng.uniform(0.06, 0.4) * unit
        if margin > 0 and rng.random() < 0.75:
            red = np.array([rng.uniform(0.8, 0.95), rng.uniform(0.25, 0.5), rng.uniform(0.3, 0.55)], np.float32)
            line = np.clip(thin * 0.6 + 0.5 - np.abs(cols - margin), 0, 1)
            _print(sheet, np.broadcast_to(line, (h, w)), red, rng.uniform(0.6, 0.95))
    elif ruling == "squared":
        spacing = unit * rng.uniform(0.22, 0.6)
        grid = np.maximum(_lines(rows, spacing, rng.uniform(0, spacing), thin * 0.8),
                          _lines(cols, spacing, rng.uniform(0, spacing), thin * 0.8))
        colour = _hsv(rng.choice([0.58, 0.55, 0.35, 0.0]), rng.uniform(0.0, 0.4), rng.uniform(0.45, 0.75))
        _print(sheet, grid, colour, rng.uniform(0.35, 0.8))


def _ink_alpha(rng: np.random.Generator, ink: Array, tool: str, unit: float) -> Array:
    """How much each pixel is covered by the tool: pen with uneven flow, marker soaking in, or
    graphite: grainy, lighter, with small breaks where the pencil skipped."""
    if tool == "marker":
        return _blur(ink, 0.5) * rng.uniform(0.92, 1.0)
    flow = _smooth_noise(rng, ink.shape, max(ink.shape) / unit * 3)
    if tool == "pen":
        return ink * rng.uniform(0.85, 1.0) * (1 - rng.uniform(0, 0.25) * flow)
    tooth = _blur(rng.standard_normal(ink.shape, np.float32), 0.7)
    tooth /= tooth.std() + 1e-6
    grain = np.clip(0.75 + 0.2 * tooth + 0.08 * rng.standard_normal(ink.shape, np.float32), 0.25, 1.0)
    skips = _smoothstep(0.02, 0.1, _smooth_noise(rng, ink.shape, max(ink.shape) / unit * 4))
    return ink * rng.uniform(0.6, 0.85) * grain * skips


@dataclass(frozen=True)
class Sheet:
    """The flat sheet, larger than the picture by `margin` on every side, and where the ink lies."""

    rgb: Array
    margin: int
    ink_box: tuple[int, int, int, int] | None  # left, top, right, bottom in sheet pixels


def _sheet(rng: np.random.Generator, style: Style, layout: Layout) -> Sheet:
    """Paper, its printed lines and the writing, with room around for the camera's pose."""
    width, height = layout.size
    margin = int(0.1 * max(width, height)) + 4
    rgb = _paper(rng, (height + 2 * margin, width + 2 * margin), style.paper)
    left, top = layout.origin[0] + margin, layout.origin[1] + margin
    bottom = top + (layout.ink.shape[0] if layout.ink is not None else rng.uniform(0.3, 0.7) * height)
    _rule(rng, rgb, style.ruling, layout.unit, (left, bottom))
    if layout.ink is None:
        return Sheet(rgb, margin, None)
    alpha = _ink_alpha(rng, layout.ink, style.tool, layout.unit)
    h, w = alpha.shape
    region = rgb[top:top + h, left:left + w]
    _print(region, alpha, style.ink, 1.0)
    return Sheet(rgb, margin, (left, top, left + w, top + h))


# --- the camera: pose, light, optics, sensor, file ----------------------------------------------

def _homography(src: Array, dst: Array) -> Array:
    """The 3x3 projective map taking four src points onto four dst points."""
    rows = []
    for (x, y), (u, v) in zip(src, dst):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
    return np.append(np.linalg.solve(np.array(rows), dst.reshape(-1)), 1.0).reshape(3, 3)


def _camera_view(rng: np.random.Generator, sheet: Sheet, size: tuple[int, int], amount: float) -> Array:
    """Picture-to-sheet map: a few degrees of roll and a mild perspective, scaled by `amount`."""
    width, height = size
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    angle = np.radians(rng.uniform(-3, 3) * amount)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([width, height]) / 2
    quad = (corners - centre) @ turn.T + centre + sheet.margin
    quad += rng.uniform(-0.02, 0.02, (4, 2)) * max(size) * amount
    return _homography(corners, quad)


def _keeps_ink(view: Array, sheet: Sheet, size: tuple[int, int]) -> bool:
    """Whether all of the ink's box lands inside the picture."""
    if sheet.ink_box is None:
        return True
    left, top, right, bottom = sheet.ink_box
    box = np.array([[left, top, 1], [right, top, 1], [right, bottom, 1], [left, bottom, 1]], np.float64)
    seen = box @ np.linalg.inv(view).T
    xy = seen[:, :2] / seen[:, 2:]
    return bool((xy >= 1).all() and (xy[:, 0] <= size[0] - 1).all() and (xy[:, 1] <= size[1] - 1).all())


def _shoot(rng: np.random.Generator, sheet: Sheet, size: tuple[int, int], careful: bool) -> Image.Image:
    """The sheet as the lens sees it: posed, then slightly out of focus."""
    for amount in (1.0, 0.5, 0.0):
        view = _camera_view(rng, sheet, size, amount)
        if _keeps_ink(view, sheet, size):
            break
    flat = Image.fromarray((np.clip(sheet.rgb, 0, 1) * 255 + 0.5).astype(np.uint8))
    picture = flat.transform(size, Image.PERSPECTIVE, tuple(view.reshape(-1)[:8]), Image.BICUBIC)
    sigma = rng.uniform(0.0, 0.5 if careful else 1.3) * min(1.0, max(size) / 320)
    return picture.filter(ImageFilter.GaussianBlur(sigma)) if sigma > 0.15 else picture


def _gradient(rng: np.random.Generator, x: Array, y: Array, strongest: float) -> Array:
    """A linear or spot-light falloff between 1 and 1/ratio, ratio up to `strongest`."""
    ratio = rng.uniform(1.0, strongest)
    if rng.random() < 0.6:
        angle = rng.uniform(0, 2 * np.pi)
        t = x * np.cos(angle) + y * np.sin(angle)
    else:
        cx, cy = rng.uniform(-0.3, 1.3, 2)
        t = -np.hypot(x - cx, y - cy)
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    return ratio ** (t - 1.0)


def _shadow(rng: np.random.Generator, x: Array, y: Array, long_side: int) -> Array:
    """A hard or soft shadow: the edge of a phone or hand, or a rounded blob, darkening 20-55 %."""
    soft = rng.random() < 0.5
    blur = rng.uniform(0.05, 0.2) if soft else rng.uniform(0.5, 2.0) / long_side
    if rng.random() < 0.6:
        angle, through = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.8, 2)
        distance = (x - through[0]) * np.cos(angle) + (y - through[1]) * np.sin(angle)
    else:
        cx, cy = rng.uniform(-0.2, 1.2, 2)
        rx, ry = rng.uniform(0.3, 0.7, 2)
        distance = 1.0 - np.hypot((x - cx) / rx, (y - cy) / ry)
        distance *= min(rx, ry)
    cover = 1.0 / (1.0 + np.exp(-np.clip(distance / blur, -30, 30)))
    return 1.0 - rng.uniform(0.2, 0.55) * cover


def _illumination(rng: np.random.Generator, size: tuple[int, int], style: Style) -> Array:
    """Light falling on the picture, per pixel and channel: gradient, vignette, shadow, tint."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) / max(size)
    light = _gradient(rng, x, y, style.light)
    corner = np.hypot(x - x.mean(), y - y.mean())
    light *= 1.0 - rng.uniform(0.0, 0.12 if style.careful else 0.35) * (corner / corner.max()) ** 2
    if rng.random() < style.shadow:
        light *= _shadow(rng, x, y, max(size))
    light = light / light.max()
    floor = 0.22
    if light.min() < floor:
        light = floor + (light - light.min()) * (1 - floor) / (1 - light.min())
    tint = 1.0 + rng.normal(0, 0.015, 3) + np.array([0.04, 0.0, -0.05]) * rng.uniform(-1, 1.5)
    exposure = rng.uniform(0.9, 1.12)
    return light[..., None] * (tint / tint.max() * exposure).astype(np.float32)


def _sensor(rng: np.random.Generator, picture: Array, careful: bool) -> Image.Image:
    """Auto-exposure (a dark scene is brightened, and its noise with it), luminance and colour
    noise, then 8-bit quantisation."""
    gain = float(np.clip((0.55 / max(float(picture.mean()), 0.02)) ** 0.6, 0.9, 2.2))
    sigma = (rng.uniform(0.002, 0.012) if careful else rng.uniform(0.005, 0.035)) * np.sqrt(gain)
    h, w = picture.shape[:2]
    noise = rng.normal(0, sigma, (h, w, 1)) + rng.normal(0, sigma * 0.5, (h, w, 3))
    return Image.fromarray((np.clip(picture * gain + noise, 0, 1) * 255 + 0.5).astype(np.uint8))


@dataclass(frozen=True)
class Photo:
    """A rendered picture, the digits written on it ("" when none) and how it is filed."""

    image: Image.Image
    label: str
    jpeg_quality: int | None  # None: saved as PNG


def render(kind: str, rng: np.random.Generator, mnist: Mnist) -> Photo:
    """One photo of this kind."""
    style = STYLES[kind](rng)
    label, glyphs = _glyphs_for(kind, rng, mnist)
    weight = rng.uniform(*TOOL_WEIGHT[style.tool])
    if not glyphs:
        layout = _layout_blank(rng)
    elif kind.startswith("number"):
        layout = _layout_number(rng, glyphs, weight, kind)
    else:
        layout = _layout_single(rng, glyphs[0], weight)
    sheet = _sheet(rng, style, layout)
    lens = np.asarray(_shoot(rng, sheet, layout.size, style.careful), np.float32) / 255.0
    picture = _sensor(rng, lens * _illumination(rng, layout.size, style), style.careful)
    return Photo(picture, label, _jpeg_quality(rng, style.careful))


def _jpeg_quality(rng: np.random.Generator, careful: bool) -> int | None:
    """JPEG at quality 50-95 (80-95 for careful photos), or now and then None: a PNG."""
    return None if rng.random() < 0.15 else int(rng.integers(80 if careful else 50, 96))


def _save(photo: Photo, stem: Path) -> Path:
    """Write the photo as JPEG or PNG next to `stem`; return its path."""
    if photo.jpeg_quality is None:
        path = stem.with_suffix(".png")
        photo.image.save(path)
    else:
        path = stem.with_suffix(".jpg")
        photo.image.save(path, quality=photo.jpeg_quality)
    return path


def generate(out_dir: Path, mnist_dir: Path, per_kind: int, seed: int = 0,
             kinds: Iterable[str] | None = None) -> list[tuple[Path, str, str]]:
    """Write `per_kind` photos of each kind into out_dir; return (file, kind, label) for each.

    Each picture depends only on (seed, kind, index), so asking for fewer kinds or pictures
    gives the same files for those that remain."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mnist = load_mnist_test(Path(mnist_dir))
    made = []
    for kind in KINDS if kinds is None else tuple(kinds):
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
        for index in range(per_kind):
            rng = np.random.default_rng([seed, KINDS.index(kind), index])
            photo = render(kind, rng, mnist)
            made.append((_save(photo, out_dir / f"{kind}_{index:04d}"), kind, photo.label))
    return made


def main(argv: list[str] | None = None) -> None:
    """Render pictures to look at, and a labels.tsv listing file, kind and label."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--per-kind", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=None)
    parser.add_argument("--mnist", type=Path, default=None, help="folder holding the t10k IDX files")
    args = parser.parse_args(argv)
    made = generate(args.out_dir, args.mnist or default_mnist_dir(), args.per_kind, args.seed, args.kinds)
    lines = [f"{path.name}\t{kind}\t{label}" for path, kind, label in made]
    (args.out_dir / "labels.tsv").write_text("\n".join(["file\tkind\tlabel", *lines]) + "\n")
    print(f"{len(made)} pictures in {args.out_dir}")


if __name__ == "__main__":
    main()
