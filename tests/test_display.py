"""How results look in a notebook: HTML tables (every text escaped), the picture the model saw, and training's
progress bar, updated in place."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from lenet_cli.api import progress
from lenet_cli.api.model import PredictionList
from lenet_cli.api.training import Run, RunList
from lenet_cli.evaluation.evaluate import Evaluation
from lenet_cli.evaluation.metrics import classification_report
from lenet_cli.inference.predictor import NumberReading, Prediction
from lenet_cli.models import get_model
from lenet_cli.models.summary import summarize
from lenet_cli.training.run_reader import RunSummary

HOSTILE = "<script>alert(1)</script>.png"  # a file name is shown, never obeyed


def _prediction(path: str = HOSTILE) -> Prediction:
    prediction = Prediction(path, 7, "7", 0.9, [("7", 0.9), ("1", 0.05)])
    prediction.input = np.zeros((1, 28, 28), np.uint8)
    return prediction


def test_a_prediction_shows_the_picture_the_model_saw_and_escapes_its_name() -> None:
    html = _prediction()._repr_html_()
    assert "data:image/png;base64," in html and "90.00%" in html and "7 90.0%, 1 5.0%" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    blank = Prediction.no_digit("blank.png", "no ink found")._repr_html_()
    assert "no digit" in blank and "no ink found" in blank and "<img" not in blank


def test_a_number_reading_shows_each_digit_and_tolerates_fields_it_does_not_know() -> None:
    digits = [{"class_name": "4", "probability": 0.97, "box": [1, 2, 3, 4], "topk": [["4", 0.97], ["9", 0.02]],
               "new": 1},
              {"class_name": "2", "probability": 0.5, "box": [5, 6, 7, 8]}]
    reading = NumberReading(HOSTILE, "42", 0.485, digits)
    reading.alternatives = [{"number": "47", "score": -3.0}]
    html = reading._repr_html_()
    assert "42 (48.50%); next: 47" in html and "4 97.0%, 9 2.0%" in html and "[5, 6, 7, 8]" in html
    assert "<script>" not in html
    blank = NumberReading("blank.png", "", 0.0, [])
    blank.reason = "no writing found"
    assert "(no digits found: no writing found)" in blank._repr_html_()


def test_an_evaluation_shows_its_metrics_per_class_scores_and_confusion_matrix() -> None:
    logits = torch.tensor([[3.0, 0, 0], [0, 3, 0], [0, 3, 0], [0, 0, 3]])
    report = classification_report(logits, torch.tensor([0, 1, 2, 2]), ["a", "b", HOSTILE], topk=2)
    evaluation = Evaluation(report, "idx:data", "test", "best.pt", torch.zeros(4, 1, 2, 2, dtype=torch.uint8),
                            torch.tensor([0, 1, 2, 2]), logits.softmax(1))
    html = evaluation._repr_html_()
    assert "75.00%" in html and "accuracy (top-2)" in html and "confusion matrix" in html
    assert html.count("<tr>") == (1 + 4) + (1 + 3) + (1 + 3) and "<script>" not in html  # headers and rows
    assert repr(evaluation) == ("Evaluation(checkpoint='best.pt', dataset='idx:data', split='test', images=4, "
                                "accuracy=0.7500, loss=" + f"{report.loss:.4f})")


def test_a_summary_shows_every_layer_and_the_totals() -> None:
    summary = summarize(get_model("lenet5"), (1, 32, 32), name="lenet5")
    html = summary._repr_html_()
    assert "61,706 parameters" in html and html.count("<tr>") == len(summary.rows) + 2 and ">total<" in html


def test_runs_and_a_run_show_as_tables() -> None:
    runs = RunList([RunSummary("exp", "runs/train/exp", "completed", "lenet5", "mnist", 3, 3, {"lr": 0.01}, 0.99,
                               0.991, 12.0, "2026-12-01 10:00"),
                    RunSummary(HOSTILE, "x", "damaged", problem="run.json: not JSON")], Path("runs/train"))
    html = runs._repr_html_()
    assert "Runs in runs/train" in html and "99.10%" in html and "lr=0.01" in html and "not JSON" in html
    assert "<script>" not in html and "none yet" in RunList([], Path("p"))._repr_html_()
    run = Run("completed", Path("runs/train/exp"), 3, 0, test_accuracy=0.99, best_epoch=None)
    assert "Training completed" in run._repr_html_() and "none (no validation split)" in run._repr_html_()


def test_a_list_of_predictions_is_one_table_with_a_thumbnail_each() -> None:
    html = PredictionList([_prediction("a.png"), Prediction.no_digit("b.png", "blank")])._repr_html_()
    assert html.count("<tr>") == 3 and html.count("<img") == 1 and "no digit" in html


START = {"run_dir": "runs/train/exp", "epochs": 2, "start_epoch": 0, "start_step": 0, "steps_per_epoch": 10,
         "train_size": 100, "val_size": 0, "test_size": 10, "device": "cpu", "seed": 0, "data_source": "here",
         "model": "lenet5", "dataset": "mnist", "threads": 2, "world_size": 1}
EPOCH = {"epoch": 1, "epochs": 2, "train_loss": 0.5, "train_acc": 0.8, "val_loss": None, "val_acc": None,
         "test_loss": 0.4, "test_acc": 0.875, "lr": 0.01, "images_per_s": 100.0, "seconds": 1.0}


class _Handle:
    def __init__(self, shown: list[str]) -> None:
        self.shown = shown

    def update(self, html) -> None:  # noqa: ANN001 - IPython's HTML
        self.shown.append(html.data)


def test_in_a_notebook_the_bar_is_updated_in_place_and_each_epoch_leaves_a_line(monkeypatch, capsys) -> None:
    display = pytest.importorskip("IPython.display", reason="IPython comes with the notebooks extra")
    shown: list[str] = []
    made = []

    def fake_display(html, display_id: bool = False) -> _Handle:
        made.append(display_id)
        shown.append(html.data)
        return _Handle(shown)

    monkeypatch.setattr(display, "display", fake_display)
    clock = iter(range(0, 1000)).__next__
    bar = progress.NotebookProgress(clock=lambda: float(clock()))
    bar.handle("start", START)
    for step in range(1, 11):
        bar.handle("step", {"epoch": 1, "step": step, "steps": 10, "loss": 0.5})
    bar.handle("evaluate", {"epoch": 1, "epochs": 2})
    bar.handle("epoch", EPOCH)
    assert made == [True]  # one display, then updates of it
    assert '<progress value="10" max="10"' in shown[-3] and "10/10  loss 0.5000" in shown[-3]
    assert "evaluating" in shown[-2] and "done: test accuracy 87.50%" in shown[-1]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("training lenet5 on mnist") and lines[1].startswith("epoch 1/2  train_loss 0.5000")


def test_the_display_is_chosen_by_where_training_runs(monkeypatch) -> None:
    assert progress.make_progress(False) is None
    assert type(progress.make_progress(True)) is progress.LineProgress  # pytest is no Jupyter kernel
    kernel = types.SimpleNamespace(get_ipython=lambda: types.SimpleNamespace(kernel=object()))
    monkeypatch.setitem(sys.modules, "IPython", kernel)
    assert progress.in_notebook() and isinstance(progress.make_progress(True), progress.NotebookProgress)
