"""lenet tune: Optuna trials as normal runs; workers sharing one study (SQLite, PostgreSQL); stops; best.toml."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, wait_until, write_mnist_files
from lenet_cli.cli.app import app

optuna = pytest.importorskip("optuna", reason="the tune extra is not installed (it is in dev)")
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
# Where .ci/run starts PostgreSQL; elsewhere set LENET_TEST_POSTGRES to a database the tests may use.
POSTGRES = os.environ.get("LENET_TEST_POSTGRES", "postgresql://lenet:lenet@127.0.0.1:5432/lenet_test")


@pytest.fixture
def data(tmp_path: Path) -> str:
    return f"idx:{write_mnist_files(tmp_path / 'data', n_train=96, n_test=40)}"


def _tune(data: str, project: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "lenet_cli", "tune", "--dataset", data, "--project", str(project), "--epochs", "1",
            "--threads", "1", "--study", "s", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=REPO)


def _two_workers_share_one_study(data: str, project: Path, storage: str) -> None:
    workers = [_tune(data, project, "--trials", "4", "--storage", storage, "--json") for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr
    study = optuna.load_study(study_name="s", storage=storage)
    done = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert len(done) == 4  # both stopped at four, whoever ran which
    numbers = [t.number for t in done]
    run_dirs = [t.user_attrs["run_dir"] for t in done]
    assert len(set(numbers)) == 4 and len(set(run_dirs)) == 4  # no trial run twice
    assert all((Path(d) / "run.json").exists() for d in run_dirs)
    for trial in done:  # a trial the pruner stopped says so in its run.json ("interrupted" is for people)
        status = json.loads((Path(trial.user_attrs["run_dir"]) / "run.json").read_text())["status"]
        assert status == ("pruned" if trial.state == optuna.trial.TrialState.PRUNED else "completed")
    # Each worker reports the best trial when it finished; the other may have finished a better one later.
    values = {t.number: t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE}
    for stdout, _ in outputs:
        result = json.loads(stdout)
        assert values[result["best"]["number"]] == result["best"]["value"] <= study.best_value
    assert "test_accuracy" in result["best"]


def test_two_workers_share_a_sqlite_study_and_the_best_retrains(runner, data: str, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    _two_workers_share_one_study(data, tmp_path / "tune", storage)
    best = tmp_path / "tune" / "s" / "best.toml"
    shown = runner.invoke(app, ["train", "--config", str(best), "--print-config"])
    assert shown.exit_code == 0, shown.output
    params = optuna.load_study(study_name="s", storage=storage).best_params
    assert f"batch-size = {params['batch_size']}" in shown.stdout.splitlines()


def test_two_workers_share_a_postgresql_study(data: str, tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (the tune extra has it)")
    try:
        psycopg.connect(POSTGRES, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {POSTGRES} ({str(exc).strip().splitlines()[0]}); "
                    ".ci/run installs Debian's postgresql and starts it")
    storage = POSTGRES
    name = "s"
    try:
        optuna.delete_study(study_name=name, storage=storage)  # a study left by an earlier run of this test
    except KeyError:
        pass
    _two_workers_share_one_study(data, tmp_path / "tune", storage)
    optuna.delete_study(study_name=name, storage=storage)


def test_ctrl_c_fails_the_trial_under_way_and_the_same_command_continues(data: str, tmp_path: Path) -> None:
    project = tmp_path / "tune"
    slow = _tune(data, project, "--trials", "2", "--epochs", "40")
    wait_until(lambda: (project / "s" / "trial-0000" / "metrics.csv").exists(), slow, what="the first epoch")
    slow.send_signal(signal.SIGINT)
    _, stderr = slow.communicate(timeout=120)
    assert slow.returncode == 130, stderr
    assert "Traceback" not in stderr and "continues the study" in stderr
    storage = f"sqlite:///{project / 's' / 'study.db'}"
    assert [t.state for t in optuna.load_study(study_name="s", storage=storage).trials] == [
        optuna.trial.TrialState.FAIL]
    again = _tune(data, project, "--trials", "1")
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    states = [t.state for t in optuna.load_study(study_name="s", storage=storage).trials]
    assert states[0] == optuna.trial.TrialState.FAIL and len(states) == 2 and states[1] != states[0]


def test_an_unknown_dataset_is_exit_2_before_a_study_exists(runner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["tune", "--dataset", "mnits", "--project", str(tmp_path / "tune")])
    assert result.exit_code == 2 and "did you mean 'mnist'?" in result.stderr
    assert not (tmp_path / "tune").exists()


@pytest.mark.parametrize("space, needle", [
    ('[weight-dcay]\ntype = "float"\nlow = 0.001\nhigh = 0.1\n', "did you mean 'weight_decay'?"),
    ('[lr]\ntype = "float"\nlow = 0.1\nhigh = 0.01\n', "low must be below high"),
    ('[augment]\ntype = "choice"\n', 'needs type = "float", "int" or "categorical"'),
])
def test_a_bad_search_space_is_exit_2(runner, tmp_path: Path, space: str, needle: str) -> None:
    path = tmp_path / "space.toml"
    path.write_text(space)
    result = runner.invoke(app, ["tune", "--space", str(path), "--project", str(tmp_path / "tune")])
    assert result.exit_code == 2 and needle in result.stderr, result.output
    assert not (tmp_path / "tune").exists()


def test_jobs_starts_that_many_workers_on_one_study(data: str, tmp_path: Path) -> None:
    worker = _tune(data, tmp_path / "tune", "--trials", "2", "--jobs", "2")
    _, stderr = worker.communicate(timeout=600)
    assert worker.returncode == 0, stderr
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'tune' / 's' / 'study.db'}")
    finished = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert len(finished) == 2
    assert stderr.count("trial ") >= 4  # each worker reported the trials it ran: two lines a trial


def test_the_pruner_leaves_the_first_epoch_alone() -> None:
    from lenet_cli.training.tune import _pruner

    study = optuna.create_study(direction="maximize", pruner=_pruner(optuna))
    for _ in range(3):  # three finished trials, each at 0.98 after epochs 1 and 2
        trial = study.ask()
        trial.report(0.98, 1)
        trial.report(0.98, 2)
        study.tell(trial, 0.99)
    slow = study.ask()
    slow.report(0.50, 1)
    assert not slow.should_prune()  # the first epoch is the one-cycle warm-up
    slow.report(0.50, 2)
    assert slow.should_prune()
