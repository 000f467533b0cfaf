"""lenet eval: metrics that agree with each other, plots, gates, and refusing what does not fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import write_mnist_files
from lenet_cli.cli.app import app
from lenet_cli.training import trainer
from lenet_cli.training.config import TrainConfig
from lenet_cli.evaluation.metrics import classification_report
from lenet_cli.inference.loading import BUNDLED_WEIGHTS


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("eval")
    data = f"idx:{write_mnist_files(root / 'data', n_train=96, n_test=40)}"
    result = trainer.train(TrainConfig(dataset=data, project=str(root), name="run", epochs=2, seed=0, threads=1,
                                       batch_size=16))
    return result.best_checkpoint, data


def test_report_matches_hand_computed_values() -> None:
    logits = torch.tensor([[2.0, 1, 0], [0, 2, 1], [0, 2, 1], [1, 0, 2]])
    labels = torch.tensor([0, 1, 2, 2])
    report = classification_report(logits, labels, ["a", "b", "c"], topk=2)
    assert report.accuracy == 0.75  # predictions a, b, b, c
    assert report.topk_accuracy == 1.0
    assert report.confusion == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    b = report.per_class[1]
    assert (b["precision"], b["recall"], b["support"]) == (0.5, 1.0, 1)
    assert b["f1"] == pytest.approx(2 / 3)
    assert report.per_class[2]["recall"] == 0.5
    assert report.macro["recall"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert report.weighted["recall"] == pytest.approx((1 + 1 + 2 * 0.5) / 4)


def test_eval_json_is_consistent(runner, trained) -> None:
    checkpoint, _ = trained
    result = runner.invoke(app, ["eval", "--checkpoint", str(checkpoint), "--json", "--topk", "3"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    confusion = torch.tensor(report["confusion_matrix"])
    assert report["count"] == 40 == int(confusion.sum())
    assert report["accuracy"] == pytest.approx(confusion.trace().item() / 40)
    assert report["topk"] == 3 and report["topk_accuracy"] >= report["accuracy"]
    assert sum(row["support"] for row in report["per_class"]) == 40
    assert report["dataset"].startswith("idx:") and report["split"] == "test"


def test_eval_table_and_plots(runner, trained, tmp_path: Path) -> None:
    checkpoint, _ = trained
    result = runner.invoke(app, ["eval", "-c", str(checkpoint), "--plot", str(tmp_path / "plots")])
    assert result.exit_code == 0, result.output
    assert "Confusion matrix" in result.stdout and "macro avg" in result.stdout
    for name in ("confusion.png", "mistakes.png"):
        with Image.open(tmp_path / "plots" / name) as picture:
            assert picture.format == "PNG" and picture.width > 100


def test_fail_under_gate(runner, trained) -> None:
    checkpoint, _ = trained
    measured = runner.invoke(app, ["eval", "-c", str(checkpoint), "--json"])
    assert measured.exit_code == 0, measured.output
    accuracy = json.loads(measured.stdout)["accuracy"]
    assert 0.05 <= accuracy <= 0.95, accuracy  # room for a gate on either side
    failed = runner.invoke(app, ["eval", "-c", str(checkpoint), "--fail-under", str(accuracy + 0.05), "--json"])
    assert failed.exit_code == 3, failed.output
    assert f"Accuracy {accuracy:.4f} is below --fail-under {accuracy + 0.05}" in failed.stderr
    assert json.loads(failed.stdout)["accuracy"] == accuracy  # the report still comes first
    for gate in (accuracy - 0.05, accuracy):  # a gate met exactly passes
        passed = runner.invoke(app, ["eval", "-c", str(checkpoint), "--fail-under", str(gate)])
        assert passed.exit_code == 0, passed.output


def test_checkpoint_that_does_not_fit_the_dataset(runner, trained, tmp_path: Path) -> None:
    checkpoint, _ = trained
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            (tmp_path / split / name).mkdir(parents=True)
            Image.new("L", (28, 28), 9).save(tmp_path / split / name / "a.png")
    result = runner.invoke(app, ["eval", "-c", str(checkpoint), "--dataset", f"folder:{tmp_path}"])
    assert result.exit_code == 1, result.output
    assert "does not fit" in result.stderr and "classes" in result.stderr


def test_not_a_lenet_checkpoint_and_missing_file(runner, tmp_path: Path) -> None:
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    result = runner.invoke(app, ["eval", "-c", str(other)])
    assert result.exit_code == 65 and "not a lenet checkpoint" in result.stderr
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    assert runner.invoke(app, ["eval", "-c", str(garbage)]).exit_code == 65
    assert runner.invoke(app, ["eval", "-c", str(tmp_path / "none.pt")]).exit_code == 66


def test_bundled_weights_on_real_mnist(runner) -> None:
    result = runner.invoke(app, ["eval", "-c", str(BUNDLED_WEIGHTS), "--json", "--fail-under", "0.993"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dataset"] == "mnist" and report["count"] == 10000
