"""Prediction: accuracy of the bundled weights on rendered photos and scans, and end-to-end speed.

In one run, on the same machine, fresh processes each time:
- one image with the bundled weights (`lenet predict img --json`: the ONNX copy, no torch),
  alternated with `python -c "import onnxruntime, numpy, PIL.Image"`, the floor any such tool
  pays; the target is <= 1.5x that floor. Medians, and the peak RSS of the predict process;
- the same image through the PyTorch checkpoint (`-c lenet_cli/weights/lenet5-mnist.pt`);
- --count images in one call (`lenet predict DIR --json`), with the accuracy per style.

lenet's own modules are compiled to bytecode first, as `pip install` does (an editable
install, or PYTHONDONTWRITEBYTECODE=1, would otherwise recompile them on every start).

    python bench/bench_predict.py [--count 1000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from photo_digits import STYLES, generate  # noqa: E402

from lenet_cli.data.search import BUNDLED_DIR  # noqa: E402
from lenet_cli.inference.loading import BUNDLED_WEIGHTS  # noqa: E402

FLOOR = [sys.executable, "-c", "import onnxruntime, numpy, PIL.Image"]
LENET = [sys.executable, "-m", "lenet_cli", "predict", "--json"]


def timed(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024, stdout


def one_image(image: Path, rounds: int) -> dict:
    floor, onnx, rss = [], [], []
    for _ in range(rounds):  # alternated, so both see the same machine
        floor.append(timed(FLOOR)[0])
        seconds, peak, _ = timed([*LENET, str(image)])
        onnx.append(seconds)
        rss.append(peak)
    torch_runs = [timed([*LENET, "-c", str(BUNDLED_WEIGHTS), str(image)]) for _ in range(max(1, rounds // 3))]
    median_floor, median_onnx = statistics.median(floor), statistics.median(onnx)
    return {"floor_import_s": round(median_floor, 3), "one_image_s": round(median_onnx, 3),
            "ratio_to_floor": round(median_onnx / median_floor, 2), "one_image_peak_rss_mb": round(max(rss)),
            "one_image_pytorch_s": round(statistics.median(t[0] for t in torch_runs), 3),
            "one_image_pytorch_peak_rss_mb": round(max(t[1] for t in torch_runs))}


def many_images(folder: Path, truth: dict[str, int], repeat: int) -> dict:
    runs = [timed([*LENET, str(folder)]) for _ in range(repeat)]
    rows = [json.loads(line) for line in runs[-1][2].splitlines()]
    right, total = Counter(), Counter()
    for row in rows:
        name = Path(row["path"]).name
        style = STYLES[int(name[:5]) % len(STYLES)]
        total[style] += 1
        right[style] += row["label"] == truth[name]
    return {"images": len(rows), "many_images_s": round(statistics.median(r[0] for r in runs), 2),
            "accuracy": round(sum(right.values()) / len(rows), 4),
            "accuracy_by_style": {s: round(right[s] / total[s], 4) for s in STYLES}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "lenet_cli")],
                   check=True)
    work = Path(tempfile.mkdtemp())
    written = generate(work / "photos", BUNDLED_DIR / "mnist", args.count, args.seed)
    truth = {p.name: label for p, label in written}
    report = {**one_image(written[1][0], args.rounds), **many_images(work / "photos", truth, 2)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
