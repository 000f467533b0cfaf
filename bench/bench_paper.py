"""Reading digits from real paper: accuracy of the bundled model per kind of paper, and speed.

Renders real MNIST test digits onto coloured card, ruled and squared notebook paper, pencil
under a gradient and shadow, and rows of 2-5 digits (tests/paper_digits.py), plus the clean
photos and scans of tests/photo_digits.py, and reads them as `lenet predict` does
(`--number` for the rows). Prints one JSON report.

    python bench/bench_paper.py [--per-kind 300] [--seed 0] [--checkpoint FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import paper_digits  # noqa: E402
import photo_digits  # noqa: E402

from lenet_cli.data.search import BUNDLED_DIR  # noqa: E402
from lenet_cli.inference.loading import load_predictor, resolve_for_prediction  # noqa: E402
from lenet_cli.inference.predictor import Unreadable  # noqa: E402


def accuracy_per_kind(predictor, written: list[tuple[Path, str, str]]) -> dict[str, dict]:
    """Share read exactly right, per kind, and the seconds each kind took."""
    report: dict[str, dict] = {}
    for kind in dict.fromkeys(k for _, k, _ in written):
        items = [(path, label) for path, k, label in written if k == kind]
        start = time.perf_counter()
        if kind == "number":
            read = [predictor.read_number(path).number for path, _ in items]
        else:
            read = [p.class_name if not isinstance(p, Unreadable) else None
                    for p in predictor.predict_paths([path for path, _ in items])]
        seconds = time.perf_counter() - start
        right = sum(r == label for r, (_, label) in zip(read, items))
        report[kind] = {"images": len(items), "accuracy": round(right / len(items), 4), "seconds": round(seconds, 2)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default=None, help="default: the bundled weights")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    written = paper_digits.generate(work / "paper", BUNDLED_DIR / "mnist", args.per_kind, args.seed)
    clean = photo_digits.generate(work / "clean", BUNDLED_DIR / "mnist", args.per_kind, args.seed)
    written += [(path, "clean", str(label)) for path, label in clean]
    predictor = load_predictor(resolve_for_prediction(args.checkpoint, Path("runs/train")), None)
    report = {"per_kind": args.per_kind, "seed": args.seed, "checkpoint": str(predictor.checkpoint),
              "kinds": accuracy_per_kind(predictor, written)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
