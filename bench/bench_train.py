"""Training speed: the seed tutorials' loop against `lenet train`'s loop, in one process.

Seed-style loop: torchvision MNIST + Resize((32, 32)) + ToTensor per sample, DataLoader(batch_size=100),
the same lenet5 model and Adam. lenet's loop: whole split in memory, batches by index.
Also: wall time from the start of `train()` (data loading included) until the test accuracy first
reaches 99.0 % with the default recipe, and the peak RSS of a whole `lenet train` process.

    python bench/bench_train.py [--seed-images 20000] [--threads N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


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


def lenet_run(project: Path, epochs: int) -> dict:
    """The default recipe through the library; returns throughput and time to 99 %."""
    from lenet_cli.training.config import TrainConfig
    from lenet_cli.training.trainer import train

    marks: dict = {}
    start = time.perf_counter()

    def on_event(kind: str, payload: dict) -> None:
        if kind == "epoch" and payload["test_acc"] >= 0.99 and "t99" not in marks:
            marks["t99"] = time.perf_counter() - start
            marks["epoch99"] = payload["epoch"]

    result = train(TrainConfig(dataset="mnist", epochs=epochs, seed=0, project=str(project)), on_event=on_event)
    rates = [row["images_per_s"] for row in result.history]
    return {"images_per_s": sorted(rates)[len(rates) // 2], "test_accuracy": result.test_accuracy,
            "seconds": result.seconds, "time_to_99": marks.get("t99"), "epoch_to_99": marks.get("epoch99")}


def peak_rss_of_cli(project: Path) -> float:
    """Peak RSS (GiB) of a separate `lenet train --epochs 1` process."""
    subprocess.run([sys.executable, "-m", "lenet_cli", "train", "--epochs", "1", "--seed", "0", "--quiet",
                    "--project", str(project)], check=True, stdout=subprocess.DEVNULL)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed-images", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    os.environ["LENET_SYSTEM_DATA_DIRS"] = ""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    project = Path(tempfile.mkdtemp())
    seed_rate = seed_style_images_per_s(args.seed_images)
    ours = lenet_run(project / "lenet", args.epochs)
    rss = peak_rss_of_cli(project / "cli")
    shutil.rmtree(project)
    report = {
        "machine": {"cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__},
        "seed_style_images_per_s": round(seed_rate, 1),
        "lenet_images_per_s": ours["images_per_s"],
        "speedup": round(ours["images_per_s"] / seed_rate, 2),
        "lenet_test_accuracy": ours["test_accuracy"],
        "lenet_seconds": round(ours["seconds"], 1),
        "time_to_99_s": None if ours["time_to_99"] is None else round(ours["time_to_99"], 1),
        "epoch_to_99": ours["epoch_to_99"],
        "peak_rss_gib_cli_train": round(rss, 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
