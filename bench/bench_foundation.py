"""Startup and data-loading benchmarks for the foundation targets.

Targets: `lenet --help` and `lenet models` <= 0.5 s wall (no torch import);
real MNIST (60k + 10k) from the bundle into tensors <= 1.5 s (after torch is imported).

    python bench/bench_foundation.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def wall(argv: list[str], repeat: int) -> float:
    """Median wall time of a fresh process running ``argv``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_mnist(repeat: int) -> float:
    import torch  # noqa: F401  (imported first: we time the loading, not the import)

    from lenet_cli.data import get_dataset

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        train, test = get_dataset("mnist", "train"), get_dataset("mnist", "test")
        times.append(time.perf_counter() - start)
        assert len(train) == 60000 and len(test) == 10000 and train.source.endswith("mnist")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    # The bundled copy must be what is measured, not a cache or system copy.
    os.environ["LENET_SYSTEM_DATA_DIRS"] = ""
    lenet = [sys.executable, "-m", "lenet_cli"]
    print(f"cores: {os.cpu_count()}  python {sys.version.split()[0]}")
    print(f"lenet --help          {wall([*lenet, '--help'], args.repeat):.3f} s  (target <= 0.5 s)")
    print(f"lenet models          {wall([*lenet, 'models'], args.repeat):.3f} s  (target <= 0.5 s)")
    print(f"import torch          {wall([sys.executable, '-c', 'import torch'], args.repeat):.3f} s  (for scale)")
    print(f"load MNIST 60k + 10k  {load_mnist(args.repeat):.3f} s  (target <= 1.5 s)")


if __name__ == "__main__":
    main()
