"""Reading accuracy of `lenet predict` on the scene renderer (tests/scene_digits.py), through the CLI only.

Renders --per-kind photos of every kind with --seed, then reads each kind in one call:
`lenet predict --json FILES...` for single digits and blank pages, `lenet predict --number --json
FILES...` for rows of digits. Prints one JSON report: per kind, the pictures and the share read
exactly (the digit, or the whole number string). For blank pages it counts the "no digit" answers:
a line whose prediction is null or not a digit, or a file the command reported as unreadable; it
also counts how many blank pages `--number` reads as an empty number.

    python bench/bench_scenes.py [--per-kind 100] [--seed 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from scene_digits import KINDS, default_mnist_dir, generate  # noqa: E402

PREDICT = [sys.executable, "-m", "lenet_cli", "predict", "--json"]


def predict(files: list[Path], number: bool, jobs: int | None) -> dict[Path, dict]:
    """Run the CLI once on all files; its JSON lines keyed by file (files it could not read are absent)."""
    argv = [*PREDICT, *(["--number"] if number else []), *(["--jobs", str(jobs)] if jobs else [])]
    proc = subprocess.run([*argv, *map(str, files)], capture_output=True, text=True)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 and not lines:
        raise SystemExit(f"lenet predict exited {proc.returncode}: {proc.stderr.strip()}")
    return {Path(line["path"]).resolve(): line for line in lines if "path" in line}


def digit_read(line: dict | None) -> str | None:
    """The digit a single-digit answer names, or None for no answer, a null or a non-digit."""
    if not line or line.get("error") is not None:
        return None
    value = line.get("predicted")
    return str(value) if value is not None and str(value).isdigit() else None


def number_read(line: dict | None) -> str:
    """The number string a --number answer names ("" for none or an unreadable file)."""
    return str(line.get("number") or "") if line and line.get("error") is None else ""


def score_kind(kind: str, made: list[tuple[Path, str]], jobs: int | None) -> dict:
    """Pictures and exact reads for one kind; "no digit" answers for blank pages."""
    files = [path.resolve() for path, _ in made]
    if kind == "blank":
        single, as_number = predict(files, False, jobs), predict(files, True, jobs)
        no_digit = sum(digit_read(single.get(f)) is None for f in files)
        empty = sum(number_read(as_number.get(f)) == "" for f in files)
        return {"images": len(files), "no_digit": no_digit, "no_digit_rate": round(no_digit / len(files), 4),
                "read_as_empty_number": empty}
    number = kind.startswith("number")
    answers = predict(files, number, jobs)
    reads = [number_read(answers.get(f)) if number else digit_read(answers.get(f)) for f in files]
    correct = sum(read == label for read, (_, label) in zip(reads, made))
    return {"images": len(files), "correct": correct, "accuracy": round(correct / len(files), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist", type=Path, default=None, help="folder holding the t10k IDX files")
    parser.add_argument("--jobs", type=int, default=None, help="passed to lenet predict --jobs")
    parser.add_argument("--keep", type=Path, default=None, help="render into this folder and keep the pictures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scenes-") as scratch:
        out_dir = args.keep or Path(scratch)
        start = time.perf_counter()
        made = generate(out_dir, args.mnist or default_mnist_dir(), args.per_kind, args.seed)
        rendered = time.perf_counter() - start
        kinds = {}
        for kind in KINDS:
            kinds[kind] = score_kind(kind, [(path, label) for path, k, label in made if k == kind], args.jobs)
    read = [score for kind, score in kinds.items() if kind != "blank"]
    report = {
        "per_kind": args.per_kind, "seed": args.seed, "kinds": kinds,
        "all_written_kinds": {"images": sum(s["images"] for s in read), "correct": sum(s["correct"] for s in read),
                              "accuracy": round(sum(s["correct"] for s in read) / sum(s["images"] for s in read), 4)},
        "seconds": {"render": round(rendered, 1), "render_and_read": round(time.perf_counter() - start, 1)},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
