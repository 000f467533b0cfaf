"""lenet_cli.train(): lenet train's options as keywords, the same weights as the command, the Run it returns,
its errors, and Ctrl-C: stop after the step, save last.pt, raise KeyboardInterrupt, then resume."""

from __future__ import annotations

import dataclasses
import inspect
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lenet_cli as lenet
from conftest import REPO, write_mnist_files
from lenet_cli.cli.app import app
from lenet_cli.errors import InputNotFound, QualityGateFailed, UsageError
from lenet_cli.training.config import TrainConfig
from lenet_cli.training.run_writer import METRIC_COLUMNS


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"idx:{write_mnist_files(tmp_path_factory.mktemp('data') / 'tiny', n_train=300, n_test=40)}"


def _weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]


def test_every_train_option_is_a_keyword_with_the_configs_default() -> None:
    parameters = inspect.signature(lenet.train).parameters
    for field in dataclasses.fields(TrainConfig):
        assert parameters[field.name].kind is inspect.Parameter.KEYWORD_ONLY, field.name
        assert parameters[field.name].default == field.default, field.name
    assert {"resume", "config", "progress", "callbacks"} <= set(parameters)


def test_the_command_and_the_function_write_bit_identical_weights(runner, tmp_path: Path, data: str) -> None:
    """One path: `lenet train` is a thin layer over lenet_cli.train, so the same options give the same weights."""
    result = runner.invoke(app, ["train", "--dataset", data, "--seed", "5", "--epochs", "1", "--project",
                                 str(tmp_path / "cli"), "--json"])
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.stdout)
    run = lenet.train(dataset=data, seed=5, epochs=1, project=str(tmp_path / "api"), progress=False)
    for name in ("last_checkpoint", "best_checkpoint"):
        cli_weights, api_weights = _weights(Path(from_cli[name])), _weights(getattr(run, name))
        assert cli_weights.keys() == api_weights.keys()
        assert all(torch.equal(cli_weights[key], api_weights[key]) for key in cli_weights), name
    assert run.test_accuracy == from_cli["test_accuracy"] and run.seed == from_cli["seed"] == 5
    other = lenet.train(dataset=data, seed=6, epochs=1, project=str(tmp_path / "api"), progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(_weights(other.last_checkpoint).values(),
                                                     _weights(run.last_checkpoint).values()))


def test_a_run_has_its_results_history_and_curves(tmp_path: Path, data: str) -> None:
    events: list[str] = []
    run = lenet.train(dataset=data, epochs=2, seed=0, batch_size=64, project=tmp_path, name="exp", progress=False,
                      callbacks=[lambda kind, payload: events.append(kind)])
    assert isinstance(run, lenet.Run) and run.status == "completed" and run.run_dir == tmp_path / "exp"
    assert run.best_checkpoint.is_file() and run.last_checkpoint == tmp_path / "exp" / "last.pt"
    assert run.best_epoch in (1, 2) and 0.0 <= run.test_accuracy <= 1.0
    assert [row["epoch"] for row in run.history] == [1, 2] and set(METRIC_COLUMNS) <= set(run.history[0])
    assert events[0] == "start" and events.count("epoch") == 2 and "step" in events
    figure = run.plot()
    assert [axes.get_title() for axes in figure.axes] == ["loss (cross-entropy)", "accuracy"]
    assert "Training completed" in run._repr_html_()


def test_progress_in_a_script_is_one_line_per_epoch_on_stderr(tmp_path: Path, data: str, capsys) -> None:
    lenet.train(dataset=data, epochs=2, seed=0, batch_size=64, project=tmp_path)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0].startswith("training lenet5 on idx:") and captured.out == ""
    assert [line.split()[1] for line in lines if line.startswith("epoch ")] == ["1/2", "2/2"]


@pytest.mark.parametrize("options, message", [
    ({"epochs": 0}, "--epochs must be at least 1"),
    ({"optimizer": "adan"}, "did you mean 'adam'"),
    ({"model": "lenet9"}, "Unknown model 'lenet9'"),
    ({"lr": float("nan")}, "--lr must be a finite number"),
    ({"seed": -1}, "--seed must be in"),
    ({"epochs": "3"}, "--epochs must be a whole number"),
    ({"name": "a/b"}, "--name must be one plain directory name"),
])
def test_bad_options_are_the_command_lines_usage_errors(tmp_path: Path, data: str, options: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        lenet.train(dataset=data, project=tmp_path, progress=False, **options)
    assert caught.value.exit_code == 2 and not (tmp_path / "exp").exists()


def test_resuming_what_cannot_be_resumed(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound) as missing:
        lenet.train(resume=tmp_path / "nowhere" / "last.pt", progress=False)
    export = tmp_path / "model.onnx"
    export.write_bytes(b"not read")
    with pytest.raises(UsageError, match="is an export"):
        lenet.train(resume=export, progress=False)
    assert missing.value.exit_code == 66


def test_a_config_file_gives_defaults_that_keywords_override(tmp_path: Path, data: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[train]\ndataset = "{data}"\nepochs = 2\nbatch-size = 64\nseed = 3\n')
    run = lenet.train(config=config, epochs=1, project=tmp_path, progress=False)
    assert (run.epochs, run.seed) == (1, 3)
    saved = (run.run_dir / "config.toml").read_text()
    assert "batch-size = 64" in saved and "epochs = 1" in saved


def test_a_missed_gate_raises_with_the_run_attached(tmp_path: Path, data: str) -> None:
    with pytest.raises(QualityGateFailed, match="below --fail-under 1.0") as caught:
        lenet.train(dataset=data, epochs=1, seed=0, project=tmp_path, fail_under=1.0, progress=False)
    assert caught.value.exit_code == 3 and caught.value.run.last_checkpoint.is_file()


INTERRUPTED_THEN_RESUMED = """
import json, sys, time
import lenet_cli as lenet

data, project = sys.argv[1], sys.argv[2]

def slowly(kind, payload):
    if kind == "step":
        print("step", flush=True)
        time.sleep(0.05)

options = dict(dataset=data, project=project, epochs=2, seed=0, batch_size=16, threads=1, progress=False)
try:
    lenet.train(name="run", callbacks=[slowly], **options)
except KeyboardInterrupt as stopped:
    run = stopped.run
    print(json.dumps({"stopped": type(stopped).__name__, "status": run.status, "epochs": run.epochs,
                      "last": str(run.last_checkpoint), "message": str(stopped)}), flush=True)
    resumed = lenet.train(resume=run.last_checkpoint, progress=False)
    straight = lenet.train(name="straight", **options)
    print(json.dumps({"status": resumed.status, "epochs": resumed.epochs, "last": str(resumed.last_checkpoint),
                      "straight": str(straight.last_checkpoint)}), flush=True)
"""


def test_ctrl_c_stops_after_the_step_saves_last_pt_and_resume_continues_exactly(tmp_path: Path, data: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", INTERRUPTED_THEN_RESUMED, data, str(tmp_path)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "step"  # training is under way: interrupt it, as a kernel would
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 0, stderr
    stopped, resumed = (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))
    assert stopped["stopped"] == "TrainingStopped" and stopped["status"] == "interrupted" and stopped["epochs"] == 0
    assert "stopping after this step" not in stderr  # progress=False: the notice goes to the listeners only
    assert stopped["last"].endswith("run/last.pt") and "lenet_cli.train(resume=" in stopped["message"]
    assert resumed["status"] == "completed" and resumed["epochs"] == 2 and resumed["last"] == stopped["last"]
    resumed_weights, straight_weights = _weights(Path(resumed["last"])), _weights(Path(resumed["straight"]))
    assert all(torch.equal(resumed_weights[key], straight_weights[key]) for key in straight_weights)
