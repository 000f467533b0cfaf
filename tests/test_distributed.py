"""Training on several processes: torch.distributed with gloo on CPU, `--nproc` and torchrun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO, wait_until, write_mnist_files

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture
def data(tmp_path: Path) -> str:
    return f"idx:{write_mnist_files(tmp_path / 'data', n_train=96, n_test=40)}"


def _train(data: str, project: Path, *extra: str, launcher: list[str] | None = None, timeout: int = 300,
           quiet: bool = True):
    command = launcher or [sys.executable, "-m", "lenet_cli"]
    # One process and two must agree to rounding: so fp32 (bf16 rounds each rank's half-batch differently) and no
    # augmentation (each rank moves its half-batch with its own random stream)
    args = ["train", "--dataset", data, "--project", str(project), "--batch-size", "32", "--seed", "3",
            "--amp", "none", "--augment", "none", "--threads", "1", "--json", *(["--quiet"] if quiet else []), *extra]
    return subprocess.run([*command, *args], capture_output=True, text=True, env=ENV, cwd=REPO, timeout=timeout)


def _state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def _close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    # The same global batches; only the order of floating-point sums differs between 1 and 2 processes.
    return a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_two_processes_train_the_same_model_as_one(data: str, tmp_path: Path) -> None:
    # 96 images in whole batches of 32 (no validation split): the ranks' sums match the single process's exactly;
    # a ragged last batch only agrees to rounding, which AdamW on 96 images amplifies over the epochs
    one = _train(data, tmp_path, "--epochs", "2", "--name", "one", "--val-split", "0")
    two = _train(data, tmp_path, "--epochs", "2", "--name", "two", "--nproc", "2", "--val-split", "0", quiet=False)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert len(two.stdout.strip().splitlines()) == 1  # rank 0 alone reports
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert abs(a["test_accuracy"] - b["test_accuracy"]) < 1e-9 and abs(a["test_loss"] - b["test_loss"]) < 1e-4
    assert _close(_state(tmp_path / "one" / "last.pt"), _state(tmp_path / "two" / "last.pt"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "one", "two"]  # one run dir per run
    record = json.loads((tmp_path / "two" / "run.json").read_text())
    assert record["world_size"] == 2 and len(record["history"]) == 2
    # rank 0 alone reports progress, and says how many processes train
    assert two.stderr.count("training lenet5 on") == 1 and "2 processes x 1 thread" in two.stderr, two.stderr
    assert len([line for line in two.stderr.splitlines() if line.startswith("epoch ")]) == 2


def test_torchrun_runs_lenet_train_unchanged(data: str, tmp_path: Path) -> None:
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m",
                "lenet_cli"]
    done = _train(data, tmp_path, "--epochs", "1", "--name", "tr", launcher=torchrun)
    assert done.returncode == 0, done.stderr
    single = _train(data, tmp_path, "--epochs", "1", "--name", "single")
    assert single.returncode == 0, single.stderr
    assert _close(_state(tmp_path / "tr" / "last.pt"), _state(tmp_path / "single" / "last.pt"))
    assert json.loads((tmp_path / "tr" / "run.json").read_text())["world_size"] == 2


def test_sigterm_saves_a_checkpoint_that_resumes_exactly(tmp_path: Path) -> None:
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=256, n_test=32)}"
    base = [sys.executable, "-m", "lenet_cli", "train", "--dataset", data, "--project", str(tmp_path),
            "--batch-size", "8", "--epochs", "30", "--seed", "4", "--threads", "1", "--quiet", "--nproc", "2"]
    proc = subprocess.Popen([*base, "--name", "cut"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, cwd=REPO)
    wait_until((tmp_path / "cut" / "metrics.csv").exists, proc, what="the first epoch")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr and "error:" not in stderr  # a stop asked for is not a fault
    assert stderr.count("note: stopped on request") == 1  # one rank speaks
    last = tmp_path / "cut" / "last.pt"
    saved = torch.load(last, weights_only=True)
    assert saved["rng"]["world_size"] == 2 and len(saved["rng"]["augment_per_rank"]) == 2
    assert saved["position"]["global_step"] < 30 * 32
    wrong = subprocess.run([sys.executable, "-m", "lenet_cli", "train", "--resume", str(last), "--quiet"],
                           capture_output=True, text=True, env=ENV, cwd=REPO, timeout=120)
    assert wrong.returncode == 1 and "--nproc 2" in wrong.stderr
    resumed = subprocess.run([sys.executable, "-m", "lenet_cli", "train", "--resume", str(last), "--quiet",
                              "--nproc", "2"], capture_output=True, text=True, env=ENV, cwd=REPO, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    full = subprocess.run([*base, "--name", "full"], capture_output=True, text=True, env=ENV, cwd=REPO, timeout=300)
    assert full.returncode == 0, full.stderr
    assert _close(_state(last), _state(tmp_path / "full" / "last.pt"))


def test_exit_codes_come_from_the_ranks(data: str, tmp_path: Path) -> None:
    gate = _train(data, tmp_path, "--epochs", "1", "--nproc", "2", "--fail-under", "0.999")
    assert gate.returncode == 3 and gate.stderr.count("error:") == 1
    uneven = _train(data, tmp_path, "--epochs", "1", "--nproc", "2", "--batch-size", "33")
    assert uneven.returncode == 2 and "multiple of the 2 processes" in uneven.stderr


def test_bf16_autocast_on_cpu_and_fp16_needs_cuda(runner, data: str, tmp_path: Path) -> None:
    from lenet_cli.cli.app import app

    result = runner.invoke(app, ["train", "--dataset", data, "--project", str(tmp_path), "--epochs", "2", "--seed", "3",
                                 "--batch-size", "16", "--lr", "0.01", "--amp", "bf16", "--augment", "none", "--threads", "1",
                                 "--json", "--name", "bf16"])
    assert result.exit_code == 0, result.output
    # bf16 still learns the bars (fp32 gets 1.0); no shifts, since a bar's class is where it lies
    assert json.loads(result.stdout)["test_accuracy"] >= 0.8
    result = runner.invoke(app, ["train", "--dataset", data, "--project", str(tmp_path), "--epochs", "1",
                                 "--amp", "fp16", "--device", "cpu"])
    assert result.exit_code == 2 and "CUDA" in result.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("extra", [["--amp", "fp16"], ["--amp", "bf16"], ["--compile"]])
def test_cuda_paths(runner, data: str, tmp_path: Path, extra: list[str]) -> None:
    from lenet_cli.cli.app import app

    result = runner.invoke(app, ["train", "--dataset", data, "--project", str(tmp_path), "--epochs", "2",
                                 "--device", "cuda", "--json", *extra])
    assert result.exit_code == 0, result.output
    checkpoint = torch.load(tmp_path / "exp" / "last.pt", weights_only=True)
    assert ("scaler" in checkpoint) == ("fp16" in extra)
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values() if v.is_floating_point())
