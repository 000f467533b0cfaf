"""lenet train: run records, reproducibility, exact resume, signals, divergence, gates."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import write_mnist_files
from lenet_cli.cli.app import app
from lenet_cli.training import optimization, trainer
from lenet_cli.device import resolve_amp
from lenet_cli.training.config import TrainConfig
from lenet_cli.errors import TrainingDiverged


@pytest.fixture
def data(tmp_path: Path) -> str:
    return f"idx:{write_mnist_files(tmp_path / 'data', n_train=96, n_test=40)}"


def _args(data: str, project: Path, *extra: str) -> list[str]:
    return ["train", "--dataset", data, "--project", str(project), "--threads", "1", *extra]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_run_directory_records_everything(runner, data: str, tmp_path: Path) -> None:
    # the rate for batches of 16; no shifts, since a bar's class is where it lies
    result = runner.invoke(app, _args(data, tmp_path / "runs", "--epochs", "2", "--seed", "3", "--batch-size", "16",
                                      "--lr", "0.01", "--augment", "none", "--json"))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    run_dir = Path(summary["run_dir"])
    assert run_dir == tmp_path / "runs" / "exp"
    assert summary["epochs"] == 2 and summary["test_accuracy"] >= 0.8  # the bars are learnt (chance is 0.1)
    for key in ("test_loss", "best_checkpoint", "last_checkpoint", "seconds"):
        assert key in summary
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[-1]["test_acc"]) == pytest.approx(summary["test_accuracy"])
    assert float(rows[0]["images_per_s"]) > 0
    val = [float(r["val_acc"]) for r in rows]  # 1/12 of the training images are held out by default
    assert summary["best_epoch"] == val.index(max(val)) + 1 and summary["best_val_accuracy"] == max(val)
    assert float(rows[-1]["train_objective"]) > float(rows[-1]["train_loss"])  # smoothing is in the objective only
    record = json.loads((run_dir / "run.json").read_text())
    assert record["seed"] == 3 and record["status"] == "completed"
    # --amp auto, as this machine resolves it
    assert record["precision"] == resolve_amp("auto", torch.device("cpu")) and record["config"]["amp"] == "auto"
    assert record["versions"]["torch"] == torch.__version__
    assert len(record["dataset"]["train_sha256"]) == 64
    for name in ("best.pt", "last.pt"):
        assert record["checkpoint_sha256"][name] == hashlib.sha256((run_dir / name).read_bytes()).hexdigest()
    assert (run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'seed = 3' in (run_dir / "config.toml").read_text()
    # atomic writes go through a temp file, but the result has a plain open()'s mode
    umask = os.umask(0)
    os.umask(umask)
    for name in ("best.pt", "last.pt", "curves.png", "metrics.csv", "run.json"):
        assert (run_dir / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
    checkpoint = torch.load(run_dir / "best.pt", weights_only=True)
    assert checkpoint["model"] == "lenet5" and checkpoint["classes"] == [str(i) for i in range(10)]
    assert checkpoint["normalization"]["input_size"] == 32 and checkpoint["seed"] == 3
    # a second run gets the next directory
    again = runner.invoke(app, _args(data, tmp_path / "runs", "--epochs", "1", "--quiet"))
    assert again.exit_code == 0, again.output
    assert (tmp_path / "runs" / "exp2" / "last.pt").exists()


def test_plain_progress_when_not_a_terminal(runner, data: str, tmp_path: Path) -> None:
    result = runner.invoke(app, _args(data, tmp_path, "--epochs", "2", "--seed", "1"))
    assert result.exit_code == 0, result.output
    epoch_lines = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and "test_acc" in epoch_lines[0]
    assert "━" not in result.stderr  # no progress bar characters in logs
    assert "Training completed" in result.stdout


def test_early_stopping_is_reported_as_information(runner, data: str, tmp_path: Path) -> None:
    result = runner.invoke(app, _args(data, tmp_path, "--epochs", "30", "--seed", "0", "--patience", "1",
                                      "--lr", "1e-6", "--scheduler", "none"))
    assert result.exit_code == 0, result.output
    assert "stopped early at epoch" in result.stderr and "(--patience)" in result.stderr
    assert "warning:" not in result.stderr and "error:" not in result.stderr
    epochs = len([line for line in result.stderr.splitlines() if line.startswith("epoch ")])
    assert epochs < 30 and f"Training stopped early at epoch {epochs}" in result.stdout


def test_same_seed_same_weights_and_random_seed_is_recorded(runner, data: str, tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = runner.invoke(app, _args(data, tmp_path, "--epochs", "2", "--seed", "7", "--name", name,
                                          "--augment", "affine", "--quiet"))
        assert result.exit_code == 0, result.output
    assert _same(_weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt"))
    result = runner.invoke(app, _args(data, tmp_path, "--epochs", "1", "--name", "c", "--json"))
    seed = json.loads(result.stdout)["seed"]
    assert isinstance(seed, int)
    assert json.loads((tmp_path / "c" / "run.json").read_text())["seed"] == seed
    assert torch.load(tmp_path / "c" / "last.pt", weights_only=True)["seed"] == seed


def _config(data: str, project: Path, name: str) -> TrainConfig:
    return TrainConfig(dataset=data, project=str(project), name=name, epochs=3, batch_size=16, seed=11,
                       augment="writing", val_split=0.2, threads=1)


@pytest.mark.parametrize("stop_after", [1, 5, 10, 13])  # 5 steps per epoch: mid-epoch and epoch edges
def test_resume_from_any_step_is_bit_identical(data: str, tmp_path: Path, stop_after: int) -> None:
    full = trainer.train(_config(data, tmp_path, "full"))
    assert full.status == "completed"
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] == stop_after

    cut = trainer.train(_config(data, tmp_path, "cut"), should_stop=stop)
    assert cut.status == "interrupted" and cut.last_checkpoint is not None
    resumed = trainer.train(TrainConfig(), resume=cut.last_checkpoint)
    assert resumed.status == "completed" and resumed.run_dir == tmp_path / "cut"
    assert _same(_weights(full.last_checkpoint), _weights(resumed.last_checkpoint))
    assert [r["test_acc"] for r in resumed.history] == [r["test_acc"] for r in full.history]
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in full.history]


def test_resume_with_more_epochs_continues_the_run(runner, data: str, tmp_path: Path) -> None:
    assert runner.invoke(app, _args(data, tmp_path, "--epochs", "1", "--seed", "2", "--quiet")).exit_code == 0
    last = tmp_path / "exp" / "last.pt"
    result = runner.invoke(app, ["train", "--resume", str(last), "--epochs", "3", "--lr", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["epochs"] == 3
    assert "ignored when resuming" in result.stderr and "lr" in result.stderr
    assert len(list(csv.DictReader((tmp_path / "exp" / "metrics.csv").open()))) == 3


def _wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.05)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_a_resumable_checkpoint_and_resume_matches(data: str, tmp_path: Path, sig: int, code: int) -> None:
    args = [sys.executable, "-m", "lenet_cli", *_args(data, tmp_path, "--epochs", "40", "--batch-size", "8",
                                                       "--seed", "5", "--quiet")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*args, "--name", "cut"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _wait_for(tmp_path / "cut" / "metrics.csv")  # at least one epoch done, now somewhere mid-run
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    assert "error:" not in stderr and "warning:" not in stderr  # a stop asked for is information, not a fault
    last = tmp_path / "cut" / "last.pt"
    position = torch.load(last, weights_only=True)["position"]
    assert position["global_step"] < 40 * 12  # it really stopped early
    resumed = subprocess.run([sys.executable, "-m", "lenet_cli", "train", "--resume", str(last), "--quiet"],
                             capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    full = subprocess.run([*args, "--name", "full"], capture_output=True, text=True, env=env, timeout=300)
    assert full.returncode == 0, full.stderr
    assert _same(_weights(last), _weights(tmp_path / "full" / "last.pt"))


def test_divergence_keeps_the_last_good_checkpoint(data: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = TrainConfig(dataset=data, project=str(tmp_path), name="nan", epochs=3, batch_size=32, seed=1, threads=1)
    real = optimization.F.cross_entropy
    calls = {"n": 0}

    def poisoned(logits, target, **kwargs):
        loss = real(logits, target, **kwargs)
        if not kwargs.get("label_smoothing"):  # evaluation and the plain train_loss stay finite
            return loss
        calls["n"] += 1
        return loss * float("nan") if calls["n"] > 4 else loss  # 3 steps per epoch: epoch 2 diverges

    monkeypatch.setattr(optimization.F, "cross_entropy", poisoned)
    last = tmp_path / "nan" / "last.pt"
    with pytest.raises(TrainingDiverged, match="lower --lr") as info:
        trainer.train(config, on_event=lambda kind, payload: None)
    assert info.value.exit_code == 4
    saved = torch.load(last, weights_only=True)
    assert saved["position"] == {**saved["position"], "epoch": 1, "step": 0}
    assert json.loads((tmp_path / "nan" / "run.json").read_text())["status"] == "diverged"


def test_divergence_from_the_command_line_is_exit_4(runner, data: str, tmp_path: Path) -> None:
    result = runner.invoke(app, _args(data, tmp_path, "--epochs", "2", "--lr", "1e30", "--scheduler", "none",
                                      "--seed", "0"))
    assert result.exit_code == 4, result.output
    assert "lower --lr" in result.stderr and "Traceback" not in result.output


def test_fail_under_is_exit_3(runner, data: str, tmp_path: Path) -> None:
    result = runner.invoke(app, _args(data, tmp_path, "--epochs", "1", "--lr", "1e-7", "--seed", "0",
                                      "--fail-under", "0.99", "--json"))
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["test_accuracy"] < 0.99  # results still printed before the gate
    assert "below --fail-under" in result.stderr


def test_config_file_and_command_line_precedence(runner, data: str, tmp_path: Path) -> None:
    config = tmp_path / "train.toml"
    config.write_text(f'[train]\ndataset = "{data}"\nepochs = 1\nseed = 9\nbatch-size = 32\n')
    result = runner.invoke(app, ["train", "--config", str(config), "--epochs", "2", "--project", str(tmp_path),
                                 "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.stdout)["run_dir"])
    saved = json.loads((run_dir / "run.json").read_text())["config"]
    assert (saved["epochs"], saved["seed"], saved["batch_size"]) == (2, 9, 32)
    again = runner.invoke(app, ["train", "--config", str(run_dir / "config.toml"), "--name", "again", "--json"])
    assert again.exit_code == 0, again.output
    assert _same(_weights(run_dir / "last.pt"), _weights(Path(json.loads(again.stdout)["run_dir"]) / "last.pt"))


@pytest.mark.parametrize(
    "extra, code, needle",
    [
        (["--model", "lenet9"], 2, "Unknown model"),
        (["--optimizer", "rmsprop"], 2, "Invalid value for '--optimizer'"),
        (["--val-split", "1.5"], 2, "--val-split"),
        (["--epochs", "0"], 2, "--epochs"),
        (["--config", "missing.toml"], 66, "missing.toml"),
        (["--resume", "missing.pt"], 66, "missing.pt"),
        (["--device", "cuda"] if not torch.cuda.is_available() else ["--device", "tpu"], None, "--device"),
    ],
)
def test_bad_options(runner, data: str, tmp_path: Path, extra: list[str], code: int | None, needle: str) -> None:
    result = runner.invoke(app, _args(data, tmp_path, "--epochs", "1", *extra))
    assert result.exit_code == (code if code is not None else (1 if "cuda" in extra else 2)), result.output
    assert needle in result.output and "Traceback" not in result.output


def test_unwritable_run_directory_is_exit_73(runner, data: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = runner.invoke(app, _args(data, blocker / "runs", "--epochs", "1"))
    assert result.exit_code == 73, result.output  # cannot create output
    assert "Cannot create run directory" in result.stderr


def test_existing_named_run_is_not_overwritten(runner, data: str, tmp_path: Path) -> None:
    assert runner.invoke(app, _args(data, tmp_path, "--epochs", "1", "--name", "keep", "--quiet")).exit_code == 0
    before = (tmp_path / "keep" / "last.pt").read_bytes()
    result = runner.invoke(app, _args(data, tmp_path, "--epochs", "1", "--name", "keep"))
    assert result.exit_code == 2 and "already holds a run" in result.stderr
    assert (tmp_path / "keep" / "last.pt").read_bytes() == before


def test_real_mnist_one_epoch(runner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--dataset", "mnist", "--epochs", "1", "--seed", "0",
                                 "--project", str(tmp_path), "--json", "--fail-under", "0.97"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["test_accuracy"] >= 0.97
