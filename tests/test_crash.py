"""Killed at any moment (SIGKILL, no cleanup at all), a run never leaves a checkpoint that does not load."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import torch

from conftest import REPO, wait_until, write_mnist_files

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
# 10 kills keep the suite short; LENET_CRASH_KILLS=30 for the full experiment.
KILLS = int(os.environ.get("LENET_CRASH_KILLS", "10"))


def test_sigkill_at_random_moments_leaves_loadable_checkpoints_and_a_resumable_run(tmp_path: Path) -> None:
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=48, n_test=16)}"
    run_dir = tmp_path / "run"
    start = [sys.executable, "-m", "lenet_cli", "train", "--dataset", data, "--project", str(tmp_path), "--name", "run",
             "--epochs", "100000", "--batch-size", "8", "--seed", "0", "--threads", "1", "--quiet"]
    resume = [sys.executable, "-m", "lenet_cli", "train", "--resume", str(run_dir / "last.pt"), "--quiet"]
    rng = random.Random(0)
    temp_files_seen = 0
    for _ in range(KILLS):
        # 6 steps an epoch, and best.pt, last.pt and metrics.csv written after each: kills land in writes too
        resuming = (run_dir / "last.pt").exists()
        proc = subprocess.Popen(resume if resuming else start, env=ENV, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if not resuming:
            # the first run must finish an epoch whatever the machine's load, or there is nothing to resume
            wait_until(lambda: (run_dir / "last.pt").exists(), proc, what="the first epoch")
            time.sleep(rng.uniform(0.0, 1.5))
        else:
            time.sleep(rng.uniform(1.5, 4.5))
        proc.kill()
        proc.wait(timeout=60)
        temp_files_seen += len(list(run_dir.glob(".*.tmp")))
        for checkpoint in run_dir.glob("*.pt"):
            loaded = torch.load(checkpoint, weights_only=True)
            assert loaded["format"] == "lenet-checkpoint" and loaded["state_dict"], checkpoint
    done = torch.load(run_dir / "last.pt", weights_only=True)["position"]["epoch"]
    final = subprocess.run([*resume, "--epochs", str(done + 1)], env=ENV, cwd=REPO, capture_output=True, text=True,
                           timeout=300)
    assert final.returncode == 0, final.stderr
    assert list(run_dir.glob(".*.tmp")) == [] and (run_dir / "run.json").exists()
    print(f"{KILLS} kills, {temp_files_seen} temp files found after them, {done} epochs before the final resume")
