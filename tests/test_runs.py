"""lenet runs: every run listed from run.json, damaged and unfinished ones too, sorted and filtered, no torch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import invoke_in_fresh_process
from lenet_cli.cli.app import app
from lenet_cli.training.run_writer import RunLock


def _run(project: Path, name: str, status: str = "completed", test: float = 0.99, val: float | None = 0.98,
         **config) -> Path:
    """A run directory as `lenet train` leaves it (run.json with the documented fields)."""
    directory = project / name
    directory.mkdir(parents=True)
    settings = {"model": "lenet5", "dataset": "mnist", "epochs": 3, "lr": 0.02, "batch_size": 256, "seed": 0,
                "project": str(project), "name": name, **config}
    record = {"status": status, "config": settings, "loss": "cross-entropy", "seed": 0,
              "result": {"status": status, "epochs": settings["epochs"], "test_accuracy": test,
                         "best_val_accuracy": val, "seconds": 12.5}}
    (directory / "run.json").write_text(json.dumps(record))
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    _run(root, "exp", test=0.9922)
    _run(root, "exp2", test=0.9946, epochs=20, lr=0.05)
    _run(root, "fashion", dataset="fashion-mnist", test=0.91, val=0.905)
    _run(root, "stopped", status="early_stopped", test=0.98)
    _run(root, "cut", status="interrupted", test=0.97)
    (root / "broken").mkdir()
    (root / "broken" / "run.json").write_text("{half a file")
    (root / "killed").mkdir()  # killed before its first record: only a checkpoint
    (root / "killed" / "last.pt").write_bytes(b"")
    (root / "not-a-run").mkdir()  # an empty folder is not listed
    return root


def _listed(runner, *args: str) -> list[dict]:
    result = runner.invoke(app, ["runs", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_run_is_listed_with_its_status_and_a_damaged_one_does_not_stop_the_listing(runner, project) -> None:
    runs = {run["name"]: run for run in _listed(runner, "--project", str(project), "--sort", "name")}
    assert sorted(runs) == ["broken", "cut", "exp", "exp2", "fashion", "killed", "stopped"]
    assert runs["broken"]["status"] == "damaged" and "run.json" in runs["broken"]["problem"]
    assert runs["killed"]["status"] == "incomplete" and runs["killed"]["test_acc"] is None
    assert runs["stopped"]["status"] == "early_stopped" and runs["cut"]["status"] == "interrupted"
    assert runs["exp2"]["options"] == {"lr": 0.05}  # what differs from the defaults (epochs has its own column)
    assert runs["exp"]["options"] == {} and runs["exp2"]["epochs"] == 20


def test_sorted_by_test_accuracy_best_first_and_filtered(runner, project) -> None:
    names = [run["name"] for run in _listed(runner, "--project", str(project), "--sort", "test_acc")]
    assert names[:5] == ["exp2", "exp", "stopped", "cut", "fashion"]  # the runs without a number go last
    assert [r["name"] for r in _listed(runner, "--project", str(project), "--dataset", "fashion-mnist")] == ["fashion"]
    assert {r["name"] for r in _listed(runner, "--project", str(project), "--status", "completed")} == {
        "exp", "exp2", "fashion"}
    result = runner.invoke(app, ["runs", "--project", str(project), "--status", "complete"])
    assert result.exit_code == 2 and "did you mean 'completed'?" in result.stderr


def test_a_run_that_is_training_now_is_running(runner, project) -> None:
    lock = RunLock(project / "exp")
    assert lock.acquire()
    try:
        runs = {run["name"]: run for run in _listed(runner, "--project", str(project))}
    finally:
        lock.release()
    assert runs["exp"]["status"] == "running"
    assert {run["name"]: run for run in _listed(runner, "--project", str(project))}["exp"]["status"] == "completed"


def test_the_table_and_an_empty_project(runner, project, tmp_path: Path) -> None:
    result = runner.invoke(app, ["runs", "--project", str(project)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "99.46%" in result.stdout and "lr=0.05" in result.stdout and "early stopped" in result.stdout
    empty = runner.invoke(app, ["runs", "--project", str(tmp_path / "none")])
    assert empty.exit_code == 0 and "no runs here yet" in empty.stdout


def test_listing_runs_never_imports_torch(project) -> None:
    stdout, imported = invoke_in_fresh_process(["runs", "--project", str(project), "--json"], ("torch", "numpy"))
    assert len(json.loads(stdout)) == 7 and not imported["torch"]
