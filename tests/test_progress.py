"""Training progress: the heartbeat in logs, times left, and the live display's phases."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from lenet_cli.cli import progress
from lenet_cli.cli.progress import TrainProgress, duration

START = {"run_dir": "runs/train/exp", "epochs": 2, "start_epoch": 0, "start_step": 0, "steps_per_epoch": 100,
         "train_size": 12_800, "val_size": 0, "test_size": 10, "device": "cpu", "seed": 0, "data_source": "bundle",
         "model": "lenet5", "dataset": "mnist", "threads": 2, "world_size": 1}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _plain_progress(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> tuple[TrainProgress, io.StringIO]:
    stream = io.StringIO()
    monkeypatch.setattr(progress, "err", lambda: Console(file=stream, width=200))
    return TrainProgress(live=False, heartbeat_s=30.0, clock=clock), stream


def test_a_long_epoch_in_a_log_gets_a_heartbeat_at_most_every_30_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    shown, stream = _plain_progress(monkeypatch, clock)
    with shown:
        shown.handle("start", START)
        for step in range(1, 101):  # 100 steps of 1 s each: 128 images/s
            clock.now += 1.0
            shown.handle("step", {"epoch": 1, "step": step, "steps": 100, "loss": 0.5})
    beats = [line for line in stream.getvalue().splitlines() if "step " in line]
    assert len(beats) == 3  # at 30, 60 and 90 s
    assert beats[0].startswith("epoch 1/2  step 30/100") and "128 img/s" in beats[0]
    # 70 steps left in this epoch at 1 step/s, then a whole epoch of 100: 70 s and 2:50
    assert "1:10 left in epoch, 2:50 in run" in beats[0]
    assert "━" not in stream.getvalue()


def test_a_quick_epoch_prints_no_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    shown, stream = _plain_progress(monkeypatch, clock)
    with shown:
        shown.handle("start", START)
        for step in range(1, 101):
            clock.now += 0.1
            shown.handle("step", {"epoch": 1, "step": step, "steps": 100, "loss": 0.5})
    assert [line for line in stream.getvalue().splitlines() if "step " in line] == []


def test_the_run_estimate_counts_the_measured_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    shown, stream = _plain_progress(monkeypatch, clock)
    row = {"epoch": 1, "epochs": 2, "train_loss": 0.5, "train_acc": 0.8, "val_acc": None, "test_loss": 0.4,
           "test_acc": 0.9, "lr": 0.01, "images_per_s": 128.0, "seconds": 110.0}
    with shown:
        shown.handle("start", START)
        clock.now += 100
        shown.handle("evaluate", {"epoch": 1, "epochs": 2})
        clock.now += 10  # the evaluation took 10 s
        shown.handle("epoch", row)
        clock.now += 31
        shown.handle("step", {"epoch": 2, "step": 31, "steps": 100, "loss": 0.4})
    beat = stream.getvalue().splitlines()[-1]
    assert "1:09 left in epoch, 1:19 in run" in beat  # 69 steps at 1/s, then its evaluation of 10 s


def test_the_live_display_spins_while_evaluating() -> None:
    column = progress._BarOrSpinner()
    stepping = SimpleNamespace(fields={"evaluating": False}, total=10, completed=3, finished=False,
                               percentage=30.0, started=True, get_time=lambda: 0.0)
    evaluating = SimpleNamespace(fields={"evaluating": True}, finished=False, get_time=lambda: 0.0)
    assert type(column.render(stepping)).__name__ == "ProgressBar"
    assert type(column.render(evaluating)).__name__ != "ProgressBar"


@pytest.mark.parametrize("seconds, text", [(0.4, "0s"), (45, "45s"), (187, "3:07"), (3727, "1:02:07")])
def test_durations_read_as_a_clock(seconds: float, text: str) -> None:
    assert duration(seconds) == text
