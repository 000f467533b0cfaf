"""lenet runs: every run listed from run.json, damaged and unfinished ones too, sorted and filtered, no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, invoke_in_fresh_process
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


# --- hostile run directories: each is listed as damaged, with its reason, and never stops the listing ---

def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The CLI in its own process, with a deadline: a FIFO or /dev/zero read by mistake would block forever."""
    return subprocess.run([sys.executable, "-m", "lenet_cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def _edit_record(directory: Path, edit) -> None:
    record = json.loads((directory / "run.json").read_text())
    edit(record)
    (directory / "run.json").write_text(json.dumps(record))


_HOSTILE_RECORDS = {
    "nested": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "a-list": ("[1, 2]", "not a JSON object"),
    "nan": (None, "result.test_accuracy"),
    "text-accuracy": (None, "result.test_accuracy"),
    "number-model": (None, "config.model"),
    "list-epochs": (None, "result.epochs"),
    "huge-epochs": (None, "config.epochs"),
    "odd-status": (None, "status"),
    "text-option": (None, "config.lr"),
    "bare-config": (None, "config"),
}
_EDITS = {
    "nan": lambda r: r["result"].update(test_accuracy=float("nan")),
    "text-accuracy": lambda r: r["result"].update(test_accuracy="high"),
    "number-model": lambda r: r["config"].update(model=5),
    "list-epochs": lambda r: r["result"].update(epochs=[1, 2, 3]),
    "huge-epochs": lambda r: r["config"].update(epochs=10**400),
    "odd-status": lambda r: r.update(status=["completed"]),
    "text-option": lambda r: r["config"].update(lr="fast"),
    "bare-config": lambda r: r.update(config="lenet5"),
}


@pytest.fixture
def hostile(project: Path) -> Path:
    """The project, with a run of each kind of damaged run.json beside the good ones."""
    for name, (text, _) in _HOSTILE_RECORDS.items():
        directory = _run(project, name)
        if text is not None:
            (directory / "run.json").write_text(text)
        else:
            _edit_record(directory, _EDITS[name])
    return project


def test_a_run_json_of_the_wrong_shape_or_types_is_damaged_with_its_reason(runner, hostile: Path) -> None:
    runs = {run["name"]: run for run in _listed(runner, "--project", str(hostile), "--sort", "name")}
    for name, (_, reason) in _HOSTILE_RECORDS.items():
        assert runs[name]["status"] == "damaged", runs[name]
        assert runs[name]["problem"].startswith("run.json: ") and reason in runs[name]["problem"], runs[name]
    assert runs["text-accuracy"]["test_acc"] is None and runs["text-accuracy"]["model"] == "lenet5"
    assert runs["number-model"]["model"] is None and runs["number-model"]["test_acc"] == 0.99
    assert runs["list-epochs"]["epochs"] is None and runs["huge-epochs"]["planned_epochs"] is None
    assert runs["text-option"]["options"] == {}
    assert runs["exp"]["status"] == "completed" and runs["exp2"]["options"] == {"lr": 0.05}


@pytest.mark.parametrize("key", ["test_acc", "val_acc", "time", "epochs", "name", "date"])
def test_sorting_never_compares_a_string_with_a_number(runner, hostile: Path, key: str) -> None:
    listed = _listed(runner, "--project", str(hostile), "--sort", key)
    assert len(listed) == 7 + len(_HOSTILE_RECORDS)
    field = {"val_acc": "best_val_acc", "time": "seconds"}.get(key, key)
    values = [run[field] for run in listed]
    known = [value for value in values if value is not None]
    assert values[:len(known)] == known  # the runs without the value go last
    assert known == sorted(known, reverse=key not in ("name", "date"))


def test_the_table_shows_a_damaged_run_and_its_reason(runner, hostile: Path) -> None:
    result = runner.invoke(app, ["runs", "--project", str(hostile), "--sort", "test_acc"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "text-accuracy" in line)
    assert "damaged" in line and "result.test_accuracy" in line


def test_the_table_shows_text_from_run_json_as_text(runner, project: Path) -> None:
    _run(project, "markup", model="[/]", dataset="[bold]mnist\x1b[2J", lr=0.03)
    result = runner.invoke(app, ["runs", "--project", str(project)])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "markup" in line)
    assert "[/]" in line and "[bold]mnist\\e[2J" in line and "\x1b" not in result.stdout


def test_a_run_json_that_is_not_a_regular_file_is_never_opened(project: Path) -> None:
    fifo, zero, big, folder = (_run(project, name) for name in ("fifo", "zero", "big", "folder"))
    (fifo / "run.json").unlink()
    os.mkfifo(fifo / "run.json")  # opening it would wait for a writer forever
    (zero / "run.json").unlink()
    (zero / "run.json").symlink_to("/dev/zero")  # reading it would never end
    (big / "run.json").write_text(json.dumps({"padding": "x" * (5 << 20)}))
    (folder / "run.json").unlink()
    (folder / "run.json").mkdir()
    os.mkfifo(project / "exp" / ".lock")  # a lock that is not a file does not hold the run either
    done = _cli("runs", "--project", str(project), "--json")
    assert done.returncode == 0, done.stderr
    runs = {run["name"]: run for run in json.loads(done.stdout)}
    for name in ("fifo", "zero", "folder"):
        assert runs[name]["status"] == "damaged" and "not a regular file" in runs[name]["problem"], runs[name]
    assert runs["big"]["status"] == "damaged" and "larger than" in runs["big"]["problem"]
    assert runs["exp"]["status"] == "completed" and runs["exp2"]["test_acc"] == 0.9946


# --- lenet plot on hostile metrics.csv and run.json ---

_HEADER = "epoch,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc\n"


def _metrics(directory: Path, rows: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "metrics.csv").write_text(_HEADER + rows)
    return directory


@pytest.mark.parametrize("epoch", ["1" + "0" * 400, "1e3", "1.0", "-1", "1_0", " 2", "nan", "inf", "0x10"])
def test_plot_refuses_an_epoch_that_is_not_a_plain_small_integer(runner, tmp_path: Path, epoch: str) -> None:
    run = _metrics(tmp_path / "run", f"1,0.5,0.8,0.4,0.85,0.4,0.86\n{epoch},0.3,0.9,0.3,0.9,0.3,0.9\n")
    result = runner.invoke(app, ["plot", str(run), "--out", str(tmp_path / "out.png")])
    assert result.exit_code == 65, result.output
    assert f"{run / 'metrics.csv'}: not a metrics.csv written by lenet train" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("cells", ["1e308,0.8,-1e308,0.85,1e308,0.86", "0.5,1e308,0.4,0.85,0.4,0.86",
                                   "0.5,0.8,0.4,-0.5,0.4,0.86", "0.5,0.8,0.4,0.85,0.4,high"])
def test_plot_refuses_a_number_no_run_could_write(runner, tmp_path: Path, cells: str) -> None:
    run = _metrics(tmp_path / "run", f"1,{cells}\n2,0.3,0.9,0.3,0.9,0.3,0.9\n")
    result = runner.invoke(app, ["plot", str(run), "--out", str(tmp_path / "out.png")])
    assert result.exit_code == 65, result.output
    assert "not a metrics.csv written by lenet train" in result.stderr and "Traceback" not in result.output


def test_plot_draws_a_run_without_its_non_finite_points(runner, tmp_path: Path) -> None:
    run = _metrics(tmp_path / "run", "1,nan,0.8,inf,0.85,-inf,0.86\n2,0.3,1e400,0.3,nan,0.3,0.9\n3,0.2,0.95,0.2,0.96,"
                                     "0.2,0.97\n")
    result = runner.invoke(app, ["plot", str(run), "--out", str(tmp_path / "out.png"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"][0]["epochs"] == 3
    assert (tmp_path / "out.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_of_a_symlink_loop_is_one_line(runner, tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    result = runner.invoke(app, ["plot", str(tmp_path / "a"), "--out", str(tmp_path / "out.png")])
    assert result.exit_code == 66 and "no metrics.csv" in result.stderr, result.output


def test_plot_never_opens_a_metrics_csv_that_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo, zero = tmp_path / "fifo", tmp_path / "zero"
    fifo.mkdir()
    os.mkfifo(fifo / "metrics.csv")
    zero.mkdir()
    (zero / "metrics.csv").symlink_to("/dev/zero")
    for run in (fifo, zero):
        done = _cli("plot", str(run), "--out", str(tmp_path / "out.png"))
        assert done.returncode == 65, done.stderr
        assert done.stderr.startswith(f"error: {run / 'metrics.csv'}: ") and "not a regular file" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_plot_reads_a_run_whose_run_json_is_damaged_with_the_plain_loss_title(tmp_path: Path) -> None:
    nested = _metrics(tmp_path / "nested", "1,0.5,0.8,0.4,0.85,0.4,0.86\n")
    (nested / "run.json").write_text("[" * 100_000 + "]" * 100_000)
    fifo = _metrics(tmp_path / "fifo", "1,0.5,0.8,0.4,0.85,0.4,0.86\n")
    os.mkfifo(fifo / "run.json")
    done = _cli("plot", str(nested), str(fifo), "--out", str(tmp_path / "out.png"), "--json")
    assert done.returncode == 0, done.stderr
    assert [run["label"] for run in json.loads(done.stdout)["runs"]] == ["nested", "fifo"]
