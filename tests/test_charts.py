"""Charts: curves on a percent axis that stops at 100 %, whole epochs, the best epoch marked; the confusion matrix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lenet_cli.cli.app import app
from lenet_cli.evaluation import curves, results


def _history(epochs: int, val: bool = True) -> list[dict]:
    rows = []
    for epoch in range(1, epochs + 1):
        acc = 1.0 - 0.5 / epoch  # reaches 0.975 at 20: a margin above it must not go past 100 %
        rows.append({"epoch": epoch, "train_loss": 1 / epoch, "train_acc": min(1.0, acc + 0.02),
                     "val_loss": 1.1 / epoch if val else None, "val_acc": (acc if epoch != 7 else 0.99) if val else None,
                     "test_loss": 1.2 / epoch, "test_acc": acc - 0.001})
    return rows


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list:
    """The figures the charts would save, kept for a look at their axes (and still written)."""
    kept = []
    real = curves.save_figure

    def save(figure, path):
        kept.append(figure)
        real(figure, path)

    for module in (curves, results):
        monkeypatch.setattr(module, "save_figure", save)
    return kept


def test_curves_have_whole_epochs_a_percent_axis_up_to_100_and_the_best_epoch(tmp_path: Path, figures) -> None:
    curves.draw_curves(_history(20), tmp_path / "curves.png", "exp: lenet5 on mnist")
    loss_axes, acc_axes = figures[0].axes
    ticks = [t for t in acc_axes.get_xticks() if 1 <= t <= 20]
    assert ticks and all(float(t).is_integer() for t in ticks) and 20 in ticks  # the last epoch has its tick
    assert acc_axes.get_ylim()[1] <= 100.0 and loss_axes.get_ylim()[0] == 0.0
    assert acc_axes.get_title() == "accuracy" and acc_axes.get_xlabel() == "epoch"
    assert [t.get_text() for t in figures[0].legends[0].get_texts()] == ["train", "validation", "test"]
    assert any("epoch 7" in t.get_text() for t in acc_axes.texts)  # the best (validation) epoch is named
    assert min(t.get_fontsize() for t in acc_axes.get_yticklabels()) >= 12  # readable on a slide
    with Image.open(tmp_path / "curves.png") as picture:
        assert picture.size[0] >= 1000  # 13-pt text at 100 dpi: readable on a slide


def test_the_best_epoch_is_validations_first_maximum_and_none_without_validation() -> None:
    assert curves.best_epoch(_history(20)) == 7
    assert curves.best_epoch(_history(5, val=False)) is None


def test_confusion_counts_every_cell_and_shows_a_few_errors_on_a_log_scale(tmp_path: Path, figures) -> None:
    matrix = np.diag([958, 1130, 1020]).tolist()
    matrix[0][1], matrix[2][0] = 9, 1
    results.draw_confusion_matrix(matrix, ["0", "1", "2"], tmp_path / "confusion.png")
    axes, bar = figures[0].axes
    assert {t.get_text() for t in axes.texts} == {"958", "1,130", "1,020", "9", "1"}  # zeros stay blank
    assert axes.get_xlabel() == "predicted class" and axes.get_ylabel() == "true class"
    assert "wrong of 3,118" in axes.get_title() and "log scale" in bar.get_ylabel()
    image = axes.get_images()[0].get_array()
    assert not np.allclose(image[2, 0, :3], 1.0)  # one error is coloured, not white


def test_plot_compares_runs_by_name(runner, tmp_path: Path) -> None:
    from lenet_cli.training.run_writer import write_metrics_csv

    for name, epochs in (("short", 3), ("long", 6)):
        (tmp_path / name).mkdir()
        write_metrics_csv(tmp_path / name / "metrics.csv", _history(epochs))
    out = tmp_path / "both.png"
    result = runner.invoke(app, ["plot", str(tmp_path / "short"), str(tmp_path / "long"), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert [run["label"] for run in json.loads(result.stdout)["runs"]] == ["short", "long"]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    missing = runner.invoke(app, ["plot", str(tmp_path / "nothing")])
    assert missing.exit_code == 66 and "no metrics.csv" in missing.stderr
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "metrics.csv").write_text("epoch,test_acc\nx,0.5\n")
    damaged = runner.invoke(app, ["plot", str(tmp_path / "bad")])
    assert damaged.exit_code == 65 and "not a metrics.csv" in damaged.stderr
