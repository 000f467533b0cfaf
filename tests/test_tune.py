"""lenet tune: Optuna trials as normal runs; workers sharing one study (SQLite, PostgreSQL); stops; best.toml."""

from __future__ import annotations

import json
import os
import signal
import socket
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


def _float(name: str, low: str, high: str, extra: str = "", kind: str = "float") -> str:
    return f'[{name}]\ntype = "{kind}"\nlow = {low}\nhigh = {high}\n{extra}'


def _choices(name: str, choices: str) -> str:
    return f'[{name}]\ntype = "categorical"\nchoices = {choices}\n'


@pytest.mark.parametrize("space, needle", [
    ('[weight-dcay]\ntype = "float"\nlow = 0.001\nhigh = 0.1\n', "did you mean 'weight_decay'?"),
    ('[lr]\ntype = "float"\nlow = 0.1\nhigh = 0.01\n', "[lr]: low must be below high, not 0.1 >= 0.01"),
    ('[augment]\ntype = "choice"\n', 'needs type = "float", "int" or "categorical"'),
    ('[lr]\ntype = ["float"]\n', 'needs type = "float", "int" or "categorical"'),
    # a string, a bool, NaN or infinity where a number belongs
    (_float("lr", '"0.001"', "0.1"), '[lr] low = "0.001": must be a finite number'),
    (_float("lr", "true", "0.1"), "[lr] low = true: must be a finite number"),
    (_float("lr", "nan", "0.1"), "[lr] low = nan: must be a finite number"),
    (_float("lr", "0.001", "inf"), "[lr] high = inf: must be a finite number"),
    (_float("lr", "0.001", "0.1", 'log = "yes"\n'), '[lr] log = "yes": must be true or false'),
    # log scale from zero or below
    (_float("weight-decay", "0", "0.1", "log = true\n"), "[weight-decay]: log = true needs low > 0, not 0"),
    (_float("lr", "-0.1", "0.1", "log = true\n"), "[lr]: log = true needs low > 0, not -0.1"),
    # batch sizes are whole numbers
    (_float("batch-size", "32", "256"),
     '[batch-size] type = "float": --batch-size takes whole numbers; use type = "int"'),
    (_float("batch-size", "32.5", "256", kind="int"), "[batch-size] low = 32.5: must be a whole number"),
    (_choices("batch-size", "[64, 128.0]"), "[batch-size] choices: 128.0 is not a whole number"),
    (_choices("batch-size", "[true, 64]"), "[batch-size] choices: true is not a whole number"),
    # categorical values of the wrong type, nested lists, values the option does not take
    (_choices("lr", '["0.01", 0.02]'), '[lr] choices: "0.01" is not a number, which --lr takes'),
    (_choices("momentum", "[0.9, nan]"), "[momentum] choices: nan is not a number"),
    (_choices("augment", '[["none"], "shift"]'), "[augment] choices: a list is not a string"),
    (_choices("augment", '["none", "rotate"]'), '[augment] choices: "rotate": --augment must be one of'),
    (_choices("lr", "[0.01, -1]"), "[lr] choices: -1: --lr must be positive"),
    (_choices("augment", "[]"), "[augment]: choices must be a non-empty list"),
    (_float("label-smoothing", "0", "1"), "[label-smoothing] high = 1: --label-smoothing must be in [0, 1)"),
    (_float("augment", "0", "1"), '[augment] type = "float": --augment takes a string; use type = "categorical"'),
    # unknown keys, and one option given twice
    (_float("lr", "0.001", "0.1", "step = 0.001\n"), "[lr] step: not a key of a float dimension"),
    (_choices("augment", '["none"]') + "low = 1\n", "[augment] low: not a key of a categorical dimension"),
    (_choices("batch-size", "[64]") + _choices("batch_size", "[128]"), "[batch_size] is given twice"),
    # what the TOML parser itself gives up on
    ("[lr]\nchoices = " + "[" * 100_000 + "]" * 100_000 + "\n", "not a TOML file lenet can read (RecursionError)"),
    (_float("batch-size", "1" * 5000, "2", kind="int"), "not a TOML file lenet can read (ValueError)"),
])
def test_a_bad_search_space_is_exit_2(runner, tmp_path: Path, space: str, needle: str) -> None:
    path = tmp_path / "space.toml"
    path.write_text(space)
    result = runner.invoke(app, ["tune", "--space", str(path), "--project", str(tmp_path / "tune")])
    assert result.exit_code == 2 and needle in result.stderr, result.output
    assert result.stderr.startswith(f"error: {path}: ") and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "tune").exists()


def test_a_good_search_space_loads(tmp_path: Path) -> None:
    from lenet_cli.training.tune import load_space

    path = tmp_path / "space.toml"
    path.write_text(_float("lr", "0.002", "0.05", "log = true\n") + _float("batch-size", "64", "512", kind="int")
                    + _choices("optimizer", '["adamw", "sgd"]') + _choices("weight-decay", "[0, 0.05]"))
    assert set(load_space(path)) == {"lr", "batch_size", "optimizer", "weight_decay"}


# --- storage URLs: a password is never echoed ---

@pytest.mark.parametrize("url, masked", [
    ("postgresql://u@h/db?password=secret", "postgresql://u@h/db?password=***"),
    ("postgresql//u:secret@h/db", "postgresql//u:***@h/db"),
    ("u:secret", "u:***"),
    ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
    ("sqlite:///x.db?password=secret", "sqlite:///x.db?password=***"),
    ("postgresql+psycopg://u:p@secret@h:5432/db", "postgresql+psycopg://u:***@h:5432/db"),
    ("postgresql://h/db?sslmode=require&PWD=secret&passwd=secret2",
     "postgresql://h/db?sslmode=require&PWD=***&passwd=***"),
    ("postgresql://h/db?sslpassword=secret;password=secret", "postgresql://h/db?sslpassword=***;password=***"),
    ("u:secret@h/db", "u:***@h/db"),
    ("//u:secret@h/db", "//u:***@h/db"),
    ("postgresql:u:secret@h/db", "postgresql:***@h/db"),
    ("host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"),
    ("sqlite:///runs/tune/s/study.db", "sqlite:///runs/tune/s/study.db"),
    ("postgresql://h:5432/db", "postgresql://h:5432/db"),
    ("postgresql://u@h/db", "postgresql://u@h/db"),
    ("postgresql://u:@h/db", "postgresql://u:@h/db"),
])
def test_mask_storage_hides_every_password(url: str, masked: str) -> None:
    from lenet_cli.training.tune import mask_storage

    assert mask_storage(url) == masked
    assert "secret" not in mask_storage(url)


def test_a_drivers_message_loses_the_password_in_every_form() -> None:
    from lenet_cli.training.tune import _scrub

    url = "postgresql://u:p%40ss-word@h/db"
    message = f"could not parse {url!r}: password 'p@ss-word' or 'p%40ss-word' refused\nsecond line"
    scrubbed = _scrub(message, url)
    assert "ss-word" not in scrubbed and "postgresql://u:***@h/db" in scrubbed and "\n" not in scrubbed


def _free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (taken and let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_postgresql_storage_never_prints_its_password(runner, tmp_path: Path) -> None:
    url = f"postgresql://lenet:hunter2secret@127.0.0.1:{_free_port()}/studies?password=hunter3secret"
    result = runner.invoke(app, ["tune", "--storage", url, "--project", str(tmp_path / "tune"), "--json"])
    assert result.exit_code == 69, result.output  # the tune extra brings the driver
    assert "hunter2secret" not in result.output and "hunter3secret" not in result.output
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert f"--storage postgresql://lenet:***@127.0.0.1:" in result.stderr and "password=***" in result.stderr


@pytest.mark.parametrize("url", ["postgresql//u:hunter2secret@h/db", "u:hunter2secret"])
def test_a_storage_that_is_not_a_url_is_exit_2_without_its_password(runner, tmp_path: Path, url: str) -> None:
    result = runner.invoke(app, ["tune", "--storage", url, "--project", str(tmp_path / "tune")])
    assert result.exit_code == 2, result.output
    assert "hunter2secret" not in result.output and "not a storage URL" in result.stderr and "***" in result.stderr


@pytest.mark.filterwarnings("ignore:Query string argument")  # SQLAlchemy ignores the parameter, and says so
def test_the_result_shows_the_storage_masked(runner, data: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}?password=hunter2secret"
    args = ["tune", "--dataset", data, "--project", str(tmp_path / "tune"), "--epochs", "1", "--trials", "1",
            "--threads", "1", "--study", "s", "--storage", url]
    first = runner.invoke(app, [*args, "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["storage"] == f"sqlite:///{tmp_path / 'study.db'}?password=***"
    again = runner.invoke(app, args)  # the study is full: the table at once
    assert again.exit_code == 0, again.output
    assert "password=***" in again.stdout
    assert "hunter2secret" not in first.output + again.output


# --- study names ---

@pytest.mark.parametrize("name", ["../escape", "", "a/b", ".", "..", "a\0b", "/abs"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_study_name_that_is_not_one_plain_name_is_exit_2_before_anything_exists(
        runner, tmp_path: Path, name: str, jobs: str) -> None:
    project = tmp_path / "work" / "tune"
    result = runner.invoke(app, ["tune", "--study", name, "--project", str(project), "--jobs", jobs])
    assert result.exit_code == 2, result.output
    assert "--study must be one plain directory name" in result.stderr
    assert not (tmp_path / "work").exists() and not (tmp_path / "escape").exists()


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
