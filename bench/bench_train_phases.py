"""Where the seconds of the default `lenet train --dataset mnist` go, phase by phase.

Times, in one process and in this order: importing torch and lenet, loading the two
MNIST splits, turning them into stored input (with the validation split), importing
torch._dynamo (which any torch optimizer imports), building the model and optimizer, one
epoch of training steps, the end-of-epoch validation and test passes, and
writing best.pt, last.pt and metrics.csv. Then the whole default command as a
subprocess, for the total a user waits.

    python bench/bench_train_phases.py [--threads N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(results: dict, name: str, action):
    start = time.perf_counter()
    value = action()
    results[name] = round(time.perf_counter() - start, 3)
    return value


def phases(threads: int | None) -> dict:
    """Seconds per phase of a default training run, measured inside one process."""
    results: dict = {}
    timed(results, "import torch", lambda: __import__("torch"))
    timed(results, "import lenet training", lambda: __import__("lenet_cli.training.trainer"))
    import torch

    from lenet_cli.training import trainer
    from lenet_cli.training.config import TrainConfig
    from lenet_cli.training.state import TrainState, augment_generator

    if threads:
        torch.set_num_threads(threads)
    project = Path(tempfile.mkdtemp(prefix="lenet-phases-"))
    config = TrainConfig(dataset="mnist", seed=0, project=str(project), epochs=1)
    device = torch.device("cpu")
    group = trainer.from_environment("cpu")
    datasets = timed(results, "load MNIST (both splits, IDX)", lambda: tuple(
        trainer.get_dataset("mnist", split) for split in ("train", "test")))
    norm = trainer.Normalization.for_model(trainer.get_model_spec("lenet5"), datasets[0].spec, 32)
    timed(results, "model input and validation split", lambda: trainer._load_splits(datasets, norm, config, device))
    # Every torch optimizer imports the compiler (to mark its methods as never compiled); timed on its own here.
    timed(results, "import torch._dynamo (a torch optimizer does)", lambda: __import__("torch._dynamo"))
    timed(results, "model and optimizer", lambda: trainer.make_optimizer(
        config, trainer.get_model(config.model).to(device, memory_format=trainer.LAYOUT)))
    run = trainer._build_run(config, None, None, device, group)  # the run's own (it loads the data again: not timed)
    run.run_dir, run.lock = trainer._claim_run_dir(config, group)
    run.model = trainer._wrap_model(run)
    state = TrainState(augment_generator(0))
    run.model.train()
    timed(results, "one epoch of training steps", lambda: trainer._run_epoch(run, state))
    row = timed(results, "validation and test passes", lambda: trainer._epoch_row(run, state, 1.0))
    state.end_epoch(row)
    snapshot = timed(results, "building the checkpoint dict", lambda: trainer._snapshot(run, state))
    timed(results, "writing best.pt and last.pt", lambda: [trainer.save_checkpoint(run.best_path, snapshot),
                                                          trainer.save_checkpoint(run.last_path, snapshot)])
    timed(results, "writing metrics.csv", lambda: trainer.write_metrics_csv(run.run_dir / "metrics.csv", state.history))
    timed(results, "drawing curves.png", lambda: trainer.draw_curves(state.history, run.run_dir / "curves.png"))
    results["images per second (steps only)"] = round(len(run.splits.y_train) / results["one epoch of training steps"])
    del datasets
    return results


def whole_command(threads: int | None) -> float:
    """Wall seconds of `lenet train --dataset mnist --seed 0` as a user runs it."""
    project = tempfile.mkdtemp(prefix="lenet-phases-cli-")
    command = [sys.executable, "-m", "lenet_cli", "train", "--dataset", "mnist", "--seed", "0", "--quiet",
               "--project", project, *(["--threads", str(threads)] if threads else [])]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return round(time.perf_counter() - start, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    report = {"phases_s": phases(args.threads), "whole default command (3 epochs) s": whole_command(args.threads)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
