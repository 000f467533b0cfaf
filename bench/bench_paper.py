"""Reading digits from real paper, on two independent renderers side by side: accuracy per kind, "no digit"
answers, and the preparation's speed.

Renderer A (the one the reader is tuned on): tests/paper_digits.py (coloured card, ruled and squared
notebooks, pencil under a gradient and shadow, rows of 2-5 digits), tests/photo_digits.py (clean photos
and scans of MNIST writers), and blank pages rendered by paper_digits with no ink (plain, ruled,
squared, coloured, shadowed). Renderer B (reported on, never tuned on): tests/scene_digits.py, every
kind. Pictures are read in this process as `lenet predict` reads them (`--number` for rows). Prints one
JSON report.

    python bench/bench_paper.py [--per-kind 100] [--seed 1] [--renderers A,B] [--speed] [--ablation] [--numbers]

``--speed`` times the preparation of every picture on one thread (decoding apart); ``--ablation`` reads
the single-digit kinds again with each step of the reader turned off in turn.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import paper_digits  # noqa: E402
import photo_digits  # noqa: E402
import scene_digits  # noqa: E402

from lenet_cli.data.search import BUNDLED_DIR  # noqa: E402
from lenet_cli.inference.loading import load_predictor, resolve_for_prediction  # noqa: E402

# The kinds of the two renderers that show the same thing, side by side.
SAME_KIND = {"coloured": "card", "pencil": "pencil", "ruled": "ruled", "squared": "squared", "clean": "clean_mnist",
             "blank": "blank", "number": "number_gap", "number_touching": "number_touching",
             "number_sloped": "number_sloped"}
BLANK_PAPERS = {"plain": "number", "ruled": "ruled", "squared": "squared", "coloured": "coloured", "shadowed": "pencil"}


def render_a(out: Path, per_kind: int, seed: int, numbers_only: bool = False) -> list[tuple[Path, str, str]]:
    """Renderer A's pictures: (path, kind, label); blank pages have the label ""."""
    mnist = BUNDLED_DIR / "mnist"
    kinds = paper_digits.NUMBER_KINDS if numbers_only else (*paper_digits.KINDS, *paper_digits.NUMBER_KINDS[1:])
    written = paper_digits.generate(out / "paper", mnist, per_kind, seed, kinds)
    if numbers_only:
        return written
    clean = photo_digits.generate(out / "clean", mnist, per_kind, seed)
    written += [(path, "clean", str(label)) for path, label in clean]
    return written + blank_pages(out / "blank", per_kind, seed)


def render_b(out: Path, per_kind: int, seed: int, numbers_only: bool = False) -> list[tuple[Path, str, str]]:
    """Renderer B's pictures: (path, kind, label)."""
    kinds = [k for k in scene_digits.KINDS if k.startswith("number")] if numbers_only else None
    return scene_digits.generate(out, scene_digits.default_mnist_dir(), per_kind, seed, kinds)


def blank_pages(out: Path, count: int, seed: int) -> list[tuple[Path, str, str]]:
    """``count`` pages without writing, by renderer A, in turn plain, ruled, squared, coloured and shadowed."""
    rng = np.random.default_rng(seed + 1_000)  # not the digits' stream: the same pages whatever else is drawn
    out.mkdir(parents=True, exist_ok=True)
    nothing = np.zeros((28, 28), np.uint8)
    pages = []
    for n in range(count):
        name, kind = list(BLANK_PAPERS.items())[n % len(BLANK_PAPERS)]
        path = out / f"{name}-{n:04d}.{'jpg' if n % 2 else 'png'}"
        paper_digits.render([nothing], kind, rng).save(path)
        pages.append((path, "blank", ""))
    return pages


def read_all(predictor, written: list[tuple[Path, str, str]]) -> dict[str, dict]:
    """Per kind: pictures, share read exactly, "no digit" answers, seconds."""
    report: dict[str, dict] = {}
    for kind in dict.fromkeys(k for _, k, _ in written):
        items = [(path, label) for path, k, label in written if k == kind]
        start = time.perf_counter()
        read = [_read_one(predictor, path, kind.startswith("number")) for path, _ in items]
        seconds = time.perf_counter() - start
        no_digit = sum(r is None for r in read)
        row = {"images": len(items), "no_digit": no_digit, "seconds": round(seconds, 2),
               "errors": sum(r is _FAILED for r in read)}
        if kind != "blank":
            row["accuracy"] = round(sum(r == label for r, (_, label) in zip(read, items)) / len(items), 4)
        report[kind] = row
    return report


_FAILED = object()  # what a picture the reader crashed on reads as: never right, never "no digit"


def _read_one(predictor, path: Path, number: bool):
    """What `lenet predict` (`--number` for a row) answers for one picture: the class name or number, None for
    "no digit" (or an empty number), or _FAILED when the reader raised (a bug: counted, not hidden)."""
    try:
        if number:
            return predictor.read_number(path).number or None
        (answer,) = predictor.predict_paths([path], jobs=1)
        return getattr(answer, "class_name", None)
    except Exception:  # noqa: BLE001 - a bench reports a crash as a wrong answer and goes on
        return _FAILED


def preparation_speed(predictor, paths: list[Path]) -> dict[str, float]:
    """Median and 90th percentile milliseconds per picture, on one thread: decoding, and finding and preparing
    the digit (what `lenet predict` does before the model)."""
    from lenet_cli.data.images import open_image
    from lenet_cli.reading.prepare import prepare_mnist

    decode, prepare = [], []
    with _one_opencv_thread():
        for path in paths:
            start = time.perf_counter()
            picture = open_image(path, None, predictor.preparation.decoded_side)
            picture.load()
            middle = time.perf_counter()
            prepare_mnist(picture)
            decode.append(middle - start)
            prepare.append(time.perf_counter() - middle)
    return {"decode_ms_median": round(1000 * statistics.median(decode), 2),
            "prepare_ms_median": round(1000 * statistics.median(prepare), 2),
            "prepare_ms_p90": round(1000 * float(np.percentile(prepare, 90)), 2)}


def number_speed(predictor, written: list[tuple[Path, str, str]]) -> dict[str, float]:
    """Median and 90th percentile milliseconds to read a row of five digits (decoding included), OpenCV on one
    thread, the process already started."""
    rows = [path for path, kind, label in written if kind.startswith("number") and len(label) == 5]
    times = []
    with _one_opencv_thread():
        for path in rows:
            start = time.perf_counter()
            predictor.read_number(path)
            times.append(time.perf_counter() - start)
    return {"rows_of_5": len(rows), "read_ms_median": round(1000 * statistics.median(times), 2),
            "read_ms_p90": round(1000 * float(np.percentile(times, 90)), 2)} if times else {}


@contextlib.contextmanager
def _one_opencv_thread() -> Iterator[None]:
    """OpenCV on one thread for the duration (timings per picture, as one `lenet predict` worker sees them)."""
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


@contextlib.contextmanager
def _replaced(patches: list[tuple[object, str, object]]) -> Iterator[None]:
    """Module attributes set to other values for the duration, then put back."""
    originals = [(module, name, getattr(module, name)) for module, name, _ in patches]
    for module, name, value in patches:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in originals:
            setattr(module, name, value)


def _without_rules(contrast, candidates, departure=None, floor=0.0):
    return contrast.copy(), np.zeros(candidates.shape, bool)


def _median_paper(lab, closing=None):
    from lenet_cli.reading import ink

    paper = ink._low_median(lab, None)
    return paper, ink._ink_is_darker(paper[..., 0].astype(np.int16) - lab[..., 0])


def ablations() -> dict[str, list[tuple[object, str, object]]]:
    """Each step of the reader, turned off: the name of what is left out, and the attributes that do it."""
    from lenet_cli.reading import ink, prepare, segment

    def every_piece(pieces, shape):
        return list(pieces)

    def always_legible(group, main, shape):
        return True

    return {
        "everything": [],
        "no closing (paper = median only)": [(ink, "paper_colour", _median_paper)],
        "no chroma (lightness only)": [(ink, "_UNITS", np.array([100 / 255, 0.0, 0.0], np.float32))],
        "no rule removal": [(ink, "remove_rules", _without_rules)],
        "no choice of writing (every piece)": [(segment, "writing", every_piece), (prepare, "writing", every_piece)],
        "no 'no digit' rule": [(segment, "_legible", always_legible)],
    }


def _level_nothing(strength, mask):
    return strength, mask, 0.0, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


class _NoScorer:
    """Every arc equally whole: the path is chosen by the classifier's probabilities alone."""

    def log_odds(self, features):
        return np.zeros(len(features))


def number_ablations() -> dict[str, list[tuple[object, str, object]]]:
    """Each step of reading a row, turned off."""
    from lenet_cli.inference import rows
    from lenet_cli.reading import prepare

    return {
        "everything": [],
        "no levelling": [(prepare, "level_row", _level_nothing)],
        "no whole-digit scorer (classifier alone)": [(rows, "bundled_scorer", _NoScorer)],
    }


def ablation_table(predictor, renderers: dict[str, list[tuple[Path, str, str]]], numbers: bool = False,
                   ) -> dict[str, dict]:
    """Accuracy per kind (blanks: the share answered "no digit") with each step left out: of the single-digit
    reader, or with ``numbers`` of the row reader."""
    table: dict[str, dict] = {}
    for name, patches in (number_ablations() if numbers else ablations()).items():
        with _replaced(patches):
            table[name] = {}
            for renderer, written in renderers.items():
                singles = [item for item in written if item[1].startswith("number") == numbers]
                table[name][renderer] = {kind: row["accuracy"] if "accuracy" in row else
                                         round(row["no_digit"] / row["images"], 4)
                                         for kind, row in read_all(predictor, singles).items()}
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--renderers", default="A,B", help="A, B or both, comma-separated")
    parser.add_argument("--checkpoint", default=None, help="default: the bundled weights")
    parser.add_argument("--speed", action="store_true", help="time the preparation, one thread")
    parser.add_argument("--ablation", action="store_true", help="read again with each step left out")
    parser.add_argument("--numbers", action="store_true", help="only the rows of digits")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-paper-") as scratch:
        print(json.dumps(run(args, Path(scratch)), indent=2))


def run(args: argparse.Namespace, work: Path) -> dict:
    """Render, read and time as ``args`` ask, in ``work``; the report."""
    renderers = {}
    if "A" in args.renderers:
        renderers["A"] = render_a(work / "A", args.per_kind, args.seed, args.numbers)
    if "B" in args.renderers:
        renderers["B"] = render_b(work / "B", args.per_kind, args.seed, args.numbers)
    predictor = load_predictor(resolve_for_prediction(args.checkpoint, Path("runs/train")), None)
    report: dict = {"per_kind": args.per_kind, "seed": args.seed, "checkpoint": str(predictor.checkpoint),
                    "renderers": {name: read_all(predictor, written) for name, written in renderers.items()},
                    "same_kind": SAME_KIND}
    if args.speed:
        report["speed"] = {name: {**(preparation_speed(predictor, [p for p, k, _ in written if not k.startswith("number")])
                                     if not args.numbers else {}), "number": number_speed(predictor, written)}
                           for name, written in renderers.items()}
    if args.ablation:
        report["ablation"] = ablation_table(predictor, renderers, args.numbers)
    return report


if __name__ == "__main__":
    main()
