"""lenet inspect: one picture and one JSON document of a forward pass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import write_mnist_files
from lenet_cli.cli.app import app
from lenet_cli.data.search import BUNDLED_DIR
from photo_digits import load_mnist_test


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real MNIST test "3", written as dark ink on white paper, enlarged."""
    images, labels = load_mnist_test(BUNDLED_DIR / "mnist")
    digit = images[int(np.flatnonzero(labels == 3)[0])]
    path = tmp_path_factory.mktemp("inspect") / "three.png"
    Image.fromarray(255 - digit).resize((112, 112), Image.BICUBIC).save(path)
    return path


def test_bundled_model_picture_and_json(runner, three: Path, tmp_path: Path) -> None:
    figure = tmp_path / "figure.png"
    result = runner.invoke(app, ["inspect", str(three), "--out", str(figure), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["prediction"]["class_name"] == "3" and data["figure"] == str(figure)
    shapes = [layer["shape"] for layer in data["layers"]]
    assert shapes[:4] == [[6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5]] and shapes[-1] == [10]
    # C1's raw convolution maps, then S2: pooled, then squashed, as the paper's subsampling layer is
    assert [layer["label"] for layer in data["layers"][:4]] == ["C1", "S2", "C3", "S4"]
    assert data["layers"][0]["kind"] == "Conv2d" and data["layers"][1]["kind"] == "MaxPool2d+ReLU"
    assert data["layers"][1]["min"] >= 0.0
    assert len(data["scores"]) == 10 and int(np.argmax(data["scores"])) == 3
    with Image.open(figure) as picture:
        assert picture.format == "PNG" and picture.width >= 640 and picture.height > 400
        pixels = np.asarray(picture.convert("L"))
        assert pixels.min() < 50 and pixels.max() == 255  # something was drawn


def test_table_output_and_default_picture_name(runner, three: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["inspect", str(three)])
    assert result.exit_code == 0, result.output
    assert "Prediction: 3" in result.stdout and (tmp_path / "inspect-three.png").is_file()


def test_paper_labels_for_the_classic_model(runner, three: Path, tmp_path: Path) -> None:
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=32, n_test=16)}"
    result = runner.invoke(app, ["train", "--dataset", data, "--model", "lenet5-classic", "--epochs", "1",
                                 "--project", str(tmp_path), "--name", "run", "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["inspect", str(three), "-c", str(tmp_path / "run" / "last.pt"),
                                 "-o", str(tmp_path / "c.png"), "--json"])
    assert result.exit_code == 0, result.output
    layers = json.loads(result.stdout)["layers"]
    assert [layer["label"] for layer in layers] == ["C1", "S2", "C3", "S4", "C5", "F6", "OUTPUT"]
    assert json.loads(result.stdout)["input_shape"] == [1, 32, 32]


def test_bad_inputs(runner, tmp_path: Path, three: Path) -> None:
    result = runner.invoke(app, ["inspect", str(tmp_path / "missing.png")])
    assert result.exit_code == 66 and "not found" in result.stderr
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    result = runner.invoke(app, ["inspect", str(tmp_path / "broken.png"), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 65 and not (tmp_path / "x.png").exists()
    result = runner.invoke(app, ["inspect", str(three), "-o", str(tmp_path / "no" / "dir" / "x.png")])
    assert result.exit_code == 1 and "does not exist" in result.stderr
