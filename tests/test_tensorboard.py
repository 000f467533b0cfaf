"""--log tensorboard: event files that TensorBoard's own reader finds equal to metrics.csv, images, HParams."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import write_mnist_files
from lenet_cli.cli.app import app
from lenet_cli.training import tensorboard

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed (it is in dev)")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def test_event_files_hold_every_metric_the_lr_per_step_images_and_hparams(runner, tmp_path: Path) -> None:
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=96, n_test=40)}"
    result = runner.invoke(app, ["train", "--dataset", data, "--project", str(tmp_path), "--name", "tb", "--epochs",
                                 "2", "--batch-size", "16", "--seed", "0", "--threads", "1", "--log", "tensorboard",
                                 "--json"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "tb"
    events = EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    for column, tag in tensorboard.TAGS.items():
        if rows[0][column] == "":
            continue
        logged = [(e.step, e.value) for e in events.Scalars(tag)]
        assert logged == [(int(r["epoch"]), pytest.approx(float(r[column]), rel=1e-6)) for r in rows], tag
    steps = [e.step for e in events.Scalars("lr/step")]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) == 2 * 6  # 88 training images, batch 16: 6 steps
    assert {"test/confusion_matrix", "test/most_confident_mistakes"} <= set(events.Tags()["images"])
    confusion = events.Images("test/confusion_matrix")[0]
    assert confusion.width > 400 and confusion.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"
    assert events.Scalars("hparam/test_accuracy")[0].value == pytest.approx(json.loads(result.stdout)["test_accuracy"])
    plugin = events.PluginTagToContent("hparams")
    assert "_hparams_/experiment" in plugin and "_hparams_/session_start_info" in plugin


def test_without_the_package_the_command_names_the_install(runner, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    real = tensorboard.importlib.util.find_spec
    monkeypatch.setattr(tensorboard.importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real(name, *a))
    result = runner.invoke(app, ["train", "--dataset", "mnist", "--project", str(tmp_path), "--log", "tensorboard"])
    assert result.exit_code == 1 and "pip install 'lenet-cli[tensorboard]'" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing was started
