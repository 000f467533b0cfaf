"""Training speed: the seed tutorials' loop against `lenet train`'s loop, in one process; then whole runs.

Seed-style loop: torchvision MNIST + Resize((32, 32)) + ToTensor per sample, DataLoader(batch_size=100),
the same lenet5 model and Adam. It is noisy, so it is timed before and after lenet's loop and averaged.
lenet's loop: the default recipe through the library (whole split in memory, batches by index).
Then, per seed, a whole `lenet train --dataset mnist` process: wall time, training time (the sum of
the epoch times) until the test accuracy first reaches 99.0 %, the final accuracy; and the peak RSS
of a `lenet train --epochs 1` process.

    python bench/bench_train.py [--seed-images 20000] [--seeds 5] [--threads N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LENET_TRAIN = [sys.executable, "-m", "lenet_cli", "train", "--dataset", "mnist"]


def seed_style_images_per_s(n_images: int) -> float:
    """The tutorial loop, timed over ``n_images`` training images (first batch excluded)."""
    import torch
    import torch.nn.functional as F
    from torchvision import datasets, transforms

    from lenet_cli.data.search import BUNDLED_DIR
    from lenet_cli.models import get_model

    root = Path(tempfile.mkdtemp())
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in (BUNDLED_DIR / "mnist").glob("*.gz"):  # torchvision wants the files unpacked
        (raw / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
    transform = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor()])
    loader = torch.utils.data.DataLoader(datasets.MNIST(str(root), train=True, transform=transform),
                                         batch_size=100, shuffle=True)
    torch.manual_seed(0)
    model = get_model("lenet5")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    seen, start = 0, None
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if start is None:  # exclude warm-up
            start = time.perf_counter()
            continue
        seen += len(labels)
        if seen >= n_images:
            break
    shutil.rmtree(root)
    return seen / (time.perf_counter() - start)


def lenet_images_per_s(project: Path) -> tuple[float, str]:
    """The median epoch's images/s of the default recipe (seed 0) in this process, and its precision."""
    from lenet_cli.training.config import TrainConfig
    from lenet_cli.training.trainer import train

    precision = {}
    result = train(TrainConfig(dataset="mnist", seed=0, project=str(project)),
                   on_event=lambda kind, payload: precision.update(payload) if kind == "start" else None)
    return statistics.median(row["images_per_s"] for row in result.history), precision["precision"]


def whole_run(project: Path, seed: int) -> dict:
    """One `lenet train --dataset mnist --seed SEED` process: wall time, training time to 99 %, accuracy."""
    start = time.perf_counter()
    out = subprocess.run([*LENET_TRAIN, "--seed", str(seed), "--quiet", "--json", "--project", str(project)],
                         check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    history = json.loads(Path(json.loads(out)["run_dir"], "run.json").read_text())["history"]
    training, to_99 = 0.0, None
    for row in history:
        training += row["seconds"]
        if to_99 is None and row["test_acc"] >= 0.99:
            to_99 = (round(training, 1), row["epoch"])
    return {"seed": seed, "wall_s": round(wall, 1), "training_s": round(training, 1),
            "training_s_to_99": to_99 and to_99[0], "epoch_to_99": to_99 and to_99[1],
            "test_accuracy": history[-1]["test_acc"]}


def peak_rss_of_cli(project: Path) -> float:
    """Peak RSS (GiB) of a separate `lenet train --epochs 1` process."""
    subprocess.run([*LENET_TRAIN, "--epochs", "1", "--seed", "0", "--quiet", "--project", str(project)],
                   check=True, stdout=subprocess.DEVNULL)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed-images", type=int, default=20000)
    parser.add_argument("--seeds", type=int, default=5, help="whole runs, seeds 0..N-1")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    os.environ["LENET_SYSTEM_DATA_DIRS"] = ""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    project = Path(tempfile.mkdtemp())
    seed_before = seed_style_images_per_s(args.seed_images)
    ours, precision = lenet_images_per_s(project / "lenet")
    seed_after = seed_style_images_per_s(args.seed_images)
    seed_rate = (seed_before + seed_after) / 2
    runs = [whole_run(project / "runs", seed) for seed in range(args.seeds)]
    rss = peak_rss_of_cli(project / "cli")
    shutil.rmtree(project)
    report = {
        "machine": {"cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "precision": precision},
        "seed_style_images_per_s": [round(seed_before), round(seed_after)],
        "lenet_images_per_s": round(ours),
        "speedup": round(ours / seed_rate, 2),
        "runs": runs,
        "peak_rss_gib_cli_train": round(rss, 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
