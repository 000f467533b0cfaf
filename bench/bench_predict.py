"""Prediction: accuracy of the bundled model on rendered photos/scans, and end-to-end speed.

Targets: >= 97 % of rendered real MNIST test digits right; one image end to end
<= 2.5 s wall; 1,000 images in one call <= 6 s. With the onnx extra installed, the
same is measured for the bundled model exported to ONNX (run on onnxruntime, no torch).

    python bench/bench_predict.py [--count 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import json
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


def wall(argv: list[str], repeat: int) -> tuple[float, str]:
    times, output = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        output = done.stdout
    return statistics.median(times), output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    written = generate(work / "photos", BUNDLED_DIR / "mnist", args.count, args.seed)
    truth = {p.name: label for p, label in written}
    lenet = [sys.executable, "-m", "lenet_cli", "predict", "--json"]
    one, _ = wall([*lenet, str(written[0][0])], args.repeat)
    many, output = wall([*lenet, str(work / "photos")], max(1, args.repeat // 2))
    rows = [json.loads(line) for line in output.splitlines()]
    onnx_report = {}
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        onnx_report = {"onnx": "not measured: pip install 'lenet-cli[onnx]'"}
    else:
        model = work / "lenet5-mnist.onnx"
        subprocess.run([sys.executable, "-m", "lenet_cli", "export", "-f", "onnx", "-o", str(model)],
                       check=True, capture_output=True)
        onnx_one, _ = wall([*lenet, "-c", str(model), str(written[0][0])], args.repeat)
        onnx_many, onnx_output = wall([*lenet, "-c", str(model), str(work / "photos")], max(1, args.repeat // 2))
        same = sum(json.loads(a)["label"] == json.loads(b)["label"]
                   for a, b in zip(output.splitlines(), onnx_output.splitlines()))
        onnx_report = {"onnx_one_image_wall_s": round(onnx_one, 3),
                       f"onnx_{len(rows)}_images_wall_s": round(onnx_many, 3),
                       "onnx_same_label_as_torch": f"{same}/{len(rows)}"}
    right, total = Counter(), Counter()
    for row in rows:
        name = Path(row["path"]).name
        style = STYLES[int(name[:5]) % len(STYLES)]
        total[style] += 1
        right[style] += row["label"] == truth[name]
    report = {
        "images": len(rows),
        "accuracy": round(sum(right.values()) / len(rows), 4),
        "accuracy_by_style": {s: round(right[s] / total[s], 4) for s in STYLES},
        "one_image_wall_s": round(one, 3),
        f"{len(rows)}_images_wall_s": round(many, 3),
        **onnx_report,
    }
    print(json.dumps(report, indent=2))
    with open(work / "photos" / "labels.csv") as handle:
        assert sum(1 for _ in csv.reader(handle)) == len(rows) + 1


if __name__ == "__main__":
    main()
