"""Promises at the edges: nothing lost, one line instead of a traceback, valid JSON, the right exit code."""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from conftest import REPO, wait_until, write_mnist_files
from lenet_cli import models
from lenet_cli.cli.app import app
from lenet_cli.inference.loading import BUNDLED_WEIGHTS
from lenet_cli.training.run_writer import make_run_dir

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture
def data(tmp_path: Path) -> str:
    return f"idx:{write_mnist_files(tmp_path / 'data', n_train=96, n_test=40)}"


def _train_process(data: str, project: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "lenet_cli", "train", "--dataset", data, "--project", str(project), "--seed", "1",
            "--threads", "1", "--quiet", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=REPO)


# --- runs never share a directory -----------------------------------------------------------------

def test_two_runs_with_one_name_started_together_do_not_share_it(data: str, tmp_path: Path) -> None:
    runs = [_train_process(data, tmp_path / "runs", "--epochs", "2", "--name", "same") for _ in range(2)]
    outcomes = sorted((proc.wait(timeout=300), proc.stderr.read()) for proc in runs)
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    assert "in use by another lenet train process" in outcomes[1][1] or "already holds a run" in outcomes[1][1]
    record = json.loads((tmp_path / "runs" / "same" / "run.json").read_text())
    assert record["status"] == "completed" and len(record["history"]) == 2


def test_numbered_run_directories_are_distinct_when_claimed_at_once(tmp_path: Path) -> None:
    claimed: list[Path] = []
    threads = [threading.Thread(target=lambda: claimed.append(make_run_dir(tmp_path, None)[0])) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(claimed)) == 8 and {p.name for p in claimed} == {"exp", *(f"exp{i}" for i in range(2, 9))}


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../escape"])
def test_a_run_name_is_one_plain_directory_name(runner, data: str, tmp_path: Path, name: str) -> None:
    result = runner.invoke(app, ["train", "--dataset", data, "--project", str(tmp_path / "runs"), "--name", name])
    assert result.exit_code == 2 and "--name must be one plain directory name" in result.stderr, result.output
    assert not (tmp_path / "escape").exists()


# --- exports never replace what they did not write ------------------------------------------------

def _checkpoint_copy(tmp_path: Path) -> Path:
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(BUNDLED_WEIGHTS.read_bytes())
    return checkpoint


@pytest.mark.parametrize("fmt", ["torchscript", "safetensors"])
def test_export_refuses_to_overwrite_its_checkpoint(runner, tmp_path: Path, fmt: str) -> None:
    checkpoint = _checkpoint_copy(tmp_path)
    (tmp_path / "link.pt").symlink_to(checkpoint)
    before = checkpoint.read_bytes()
    for out in (checkpoint, tmp_path / "link.pt"):
        result = runner.invoke(app, ["export", "-f", fmt, "-c", str(checkpoint), "-o", str(out)])
        assert result.exit_code == 2 and "is the checkpoint being exported" in result.stderr, result.output
    assert checkpoint.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.pt", "model.pt"]


def test_safetensors_sidecar_never_overwrites_a_foreign_json(runner, tmp_path: Path) -> None:
    checkpoint = _checkpoint_copy(tmp_path)
    record = tmp_path / "run.json"
    record.write_text('{"status": "completed"}\n')
    result = runner.invoke(app, ["export", "-f", "safetensors", "-c", str(checkpoint), "-o", str(tmp_path / "run.safetensors")])
    assert result.exit_code == 2 and "was not written by `lenet export`" in result.stderr, result.output
    assert record.read_text() == '{"status": "completed"}\n' and not (tmp_path / "run.safetensors").exists()
    result = runner.invoke(app, ["export", "-f", "safetensors", "-c", str(checkpoint), "-o", str(tmp_path / "model.json")])
    assert result.exit_code == 2 and "the same file" in result.stderr and not (tmp_path / "model.json").exists()
    # a sidecar an earlier export wrote is simply refreshed
    for _ in range(2):
        result = runner.invoke(app, ["export", "-f", "safetensors", "-c", str(checkpoint), "-o", str(tmp_path / "m.safetensors")])
        assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m.json").read_text())["weights"] == "m.safetensors"


# --- bad data is exit 65; JSON never holds NaN -----------------------------------------------------

def test_an_empty_test_split_is_bad_input(runner, tmp_path: Path) -> None:
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=32, n_test=0)}"
    result = runner.invoke(app, ["train", "--dataset", data, "--project", str(tmp_path), "--json", "--fail-under", "0.5"])
    assert result.exit_code == 65 and "the test split holds no images" in result.stderr, result.output
    assert result.stdout == "" and not (tmp_path / "exp").exists()


def test_json_documents_hold_null_for_nan_and_infinity(capsys) -> None:
    from lenet_cli.files import json_text
    from lenet_cli.cli.console import print_json

    print_json({"loss": math.nan, "rows": [{"acc": math.inf}, -math.inf, 0.5]})
    assert json.loads(capsys.readouterr().out) == {"loss": None, "rows": [{"acc": None}, None, 0.5]}
    assert "NaN" not in json_text({"x": [math.nan]})


# --- resuming ---------------------------------------------------------------------------------------

def test_resume_with_fewer_epochs_than_done_is_a_usage_error(runner, data: str, tmp_path: Path) -> None:
    first = runner.invoke(app, ["train", "--dataset", data, "--project", str(tmp_path), "--epochs", "3",
                                "--batch-size", "32", "--threads", "1", "--quiet"])
    assert first.exit_code == 0, first.output
    result = runner.invoke(app, ["train", "--resume", str(tmp_path / "exp" / "last.pt"), "--epochs", "2"])
    assert result.exit_code == 2 and "3 epoch(s) are already done" in result.stderr, result.output
    assert "Traceback" not in result.output


def test_an_interrupted_json_run_still_prints_its_document(data: str, tmp_path: Path) -> None:
    proc = _train_process(data, tmp_path, "--epochs", "60", "--batch-size", "8", "--json", "--name", "cut")
    wait_until((tmp_path / "cut" / "metrics.csv").exists, proc, what="the first epoch")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    document = json.loads(stdout)
    assert document["status"] == "interrupted" and document["last_checkpoint"] == str(tmp_path / "cut" / "last.pt")
    assert f"lenet train --resume {tmp_path / 'cut' / 'last.pt'}" in stderr


# --- the outermost guard ------------------------------------------------------------------------------

@pytest.mark.parametrize("error, code", [
    (OSError(errno.ENOSPC, "No space left on device", "out.png"), 74),
    (PermissionError(errno.EACCES, "Permission denied", "/root/x"), 77),
    (OSError(errno.ENAMETOOLONG, "File name too long", "x" * 300), 73),
])
def test_escaping_os_errors_get_documented_codes(runner, monkeypatch, error: OSError, code: int) -> None:
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(models, "list_models", fail)  # what `lenet models` calls
    result = runner.invoke(app, ["models"])
    assert result.exit_code == code and result.stderr.count("\n") == 1 and error.strerror in result.stderr


def test_a_bug_is_one_line_and_a_crash_file(runner, monkeypatch, isolated_data_search: Path) -> None:
    def fail(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(models, "list_models", fail)  # what `lenet models` calls
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 70 and result.stderr.count("\n") == 1, result.output
    assert "internal error (a bug" in result.stderr and "ZeroDivisionError" in result.stderr
    crash_files = list((isolated_data_search / "crashes").glob("crash-*.txt"))
    assert len(crash_files) == 1 and str(crash_files[0]) in result.stderr
    assert "Traceback" in crash_files[0].read_text() and "fail" in crash_files[0].read_text()
    monkeypatch.setenv("LENET_DEBUG", "1")
    result = runner.invoke(app, ["models"])
    assert isinstance(result.exception, ZeroDivisionError)  # the traceback is shown, not hidden


def test_output_to_a_full_or_closed_stdout_is_exit_74(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "lenet_cli", "models", "--json"], stdout=full,
                              stderr=subprocess.PIPE, text=True, env=ENV, cwd=REPO)
    assert done.returncode == 74 and "No space left on device" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "lenet_cli", "models", "--json"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=ENV, cwd=REPO,
                          preexec_fn=lambda: os.close(1))
    assert done.returncode == 74 and "stdout is closed" in done.stderr
    done = subprocess.run([sys.executable, "-m", "lenet_cli", "models"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=ENV, cwd=REPO, preexec_fn=lambda: os.close(1))
    assert done.returncode == 74 and "stdout is closed" in done.stderr  # a table, too, is not lost silently


def test_idx_classes_come_from_both_splits(runner, tmp_path: Path) -> None:
    from conftest import make_images
    from lenet_cli.data.idx import write_idx

    directory = write_mnist_files(tmp_path / "data", n_train=64, n_test=0)
    images, labels = make_images(40, seed=5)
    keep = labels < 9  # the test split has no 9
    write_idx(directory / "t10k-images-idx3-ubyte.gz", images[keep])
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", labels[keep])
    result = runner.invoke(app, ["train", "--dataset", f"idx:{directory}", "--project", str(tmp_path), "--epochs", "1",
                                 "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    evaluation = runner.invoke(app, ["eval", "-c", str(tmp_path / "exp" / "last.pt"), "--json"])
    assert evaluation.exit_code == 0, evaluation.output
    report = json.loads(evaluation.stdout)
    assert len(report["classes"]) == 10 and report["per_class"][9]["support"] == 0


# --- damaged checkpoints: one line, exit 65 -----------------------------------------------------------

def _damaged(tmp_path: Path, name: str, change) -> Path:
    checkpoint = torch.load(BUNDLED_WEIGHTS, weights_only=True)
    change(checkpoint)
    path = tmp_path / f"{name}.pt"
    torch.save(checkpoint, path)
    return path


DAMAGE = {
    "no-state-dict": lambda c: c.pop("state_dict"),
    "no-normalization": lambda c: c.pop("normalization"),
    "no-model-args": lambda c: c.pop("model_args"),
    "no-model": lambda c: c.pop("model"),
    "unknown-model": lambda c: c.update(model="lenet9"),
    "wrong-shapes": lambda c: c.update(model="lenet5-avgpool"),
    "missing-weight": lambda c: c["state_dict"].pop(next(iter(c["state_dict"]))),
    "normalization-incomplete": lambda c: c["normalization"].pop("std"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_checkpoints_are_bad_input_everywhere(runner, tmp_path: Path, damage: str) -> None:
    path = _damaged(tmp_path, damage, DAMAGE[damage])
    image = tmp_path / "digit.png"
    from PIL import Image

    Image.new("L", (28, 28)).save(image)
    for args in (["predict", str(image), "-c", str(path)], ["eval", "-c", str(path)],
                 ["export", "-f", "safetensors", "-c", str(path), "-o", str(tmp_path / "out.safetensors")],
                 ["inspect", str(image), "-c", str(path), "-o", str(tmp_path / "inside.png")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 65, (args, result.output)
        assert result.stderr.count("\n") == 1 and str(path) in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, "digit.png"])


def test_a_damaged_training_checkpoint_does_not_resume(runner, data: str, tmp_path: Path) -> None:
    first = runner.invoke(app, ["train", "--dataset", data, "--project", str(tmp_path), "--epochs", "1",
                                "--threads", "1", "--quiet"])
    assert first.exit_code == 0, first.output
    last = tmp_path / "exp" / "last.pt"
    saved = torch.load(last, weights_only=True)
    for key, value in (("rng", None), ("config", {**saved["config"], "model": "lenet9"}),
                       ("state_dict", {k: v[..., :1] for k, v in saved["state_dict"].items()})):
        broken = {k: v for k, v in saved.items() if k != key} | ({key: value} if value is not None else {})
        torch.save(broken, tmp_path / "broken.pt")
        result = runner.invoke(app, ["train", "--resume", str(tmp_path / "broken.pt"), "--epochs", "2"])
        assert result.exit_code == 65 and "Traceback" not in result.output, (key, result.output)


# --- a full disk: exit 74, nothing half-written, nothing lost ---------------------------------------------

def _fill(directory: Path) -> None:
    """Leave about 8 KiB free."""
    (directory / "ballast").write_bytes(b"\0" * (88 * 1024))


@pytest.mark.parametrize("fmt", ["torchscript", "safetensors", "onnx"])
def test_export_to_a_full_disk_is_exit_74_and_leaves_nothing(runner, tiny_disk: Path, fmt: str) -> None:
    out = tiny_disk / f"model.{fmt}"
    result = runner.invoke(app, ["export", "-f", fmt, "-o", str(out)])
    assert result.exit_code == 74 and "No space left on device" in result.stderr, result.output
    assert "nothing was written" in result.stderr and list(tiny_disk.iterdir()) == []


def test_predictions_survive_a_full_disk_for_preprocessed_images(runner, tiny_disk: Path, tmp_path: Path) -> None:
    from PIL import Image

    inputs = []
    for i in range(6):
        inputs.append(tmp_path / f"{i}.png")
        Image.new("L", (28, 28), 255).save(inputs[-1])
    _fill(tiny_disk)
    result = runner.invoke(app, ["predict", *map(str, inputs), "--save-preprocessed", str(tiny_disk / "seen"), "--json"])
    assert result.exit_code == 74, result.output
    assert len(result.stdout.splitlines()) == 6  # every prediction printed
    assert "preprocessed image(s) not saved" in result.stderr and "Traceback" not in result.output
    assert all(p.stat().st_size > 0 for p in (tiny_disk / "seen").iterdir())  # no 0-byte PNG
    assert not [p for p in (tiny_disk / "seen").iterdir() if p.name.endswith(".tmp")]


def test_eval_report_survives_a_full_disk_for_plots(runner, tiny_disk: Path) -> None:
    _fill(tiny_disk)
    result = runner.invoke(app, ["eval", "-c", str(BUNDLED_WEIGHTS), "--plot", str(tiny_disk / "plots")])
    assert result.exit_code == 74 and "No space left on device" in result.stderr, result.output
    assert "accuracy (top-1)" in result.stdout  # the numbers came first
    assert all(p.stat().st_size > 0 for p in (tiny_disk / "plots").iterdir())


def test_a_run_killed_before_its_first_checkpoint_does_not_block_its_name(data: str, tmp_path: Path) -> None:
    proc = _train_process(data, tmp_path, "--epochs", "5000", "--batch-size", "8", "--name", "again")
    wait_until((tmp_path / "again" / "config.toml").exists, proc, what="the run directory")
    busy = _train_process(data, tmp_path, "--epochs", "1", "--name", "again")  # while the first still trains
    assert busy.wait(timeout=120) == 2 and "in use by another lenet train process" in busy.stderr.read()
    proc.kill()
    proc.wait(timeout=60)
    for leftover in (tmp_path / "again").glob("*.pt"):
        leftover.unlink()  # as if killed before the first epoch ended
    retry = _train_process(data, tmp_path, "--epochs", "1", "--name", "again")
    assert retry.wait(timeout=120) == 0, retry.stderr.read()


def test_resume_removes_temp_files_a_kill_left_behind(runner, data: str, tmp_path: Path) -> None:
    first = runner.invoke(app, ["train", "--dataset", data, "--project", str(tmp_path), "--epochs", "1",
                                "--threads", "1", "--quiet"])
    assert first.exit_code == 0, first.output
    stale = [tmp_path / "exp" / ".last.pt.k3j9x_0a.tmp", tmp_path / "exp" / ".metrics.csv.abcdefgh.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    keep = tmp_path / "exp" / "notes.tmp"  # not of our naming: never touched
    keep.write_text("mine")
    result = runner.invoke(app, ["train", "--resume", str(tmp_path / "exp" / "last.pt"), "--epochs", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in stale) and keep.read_text() == "mine"


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_export_leaves_nothing(tmp_path: Path, sig: int, code: int) -> None:
    (tmp_path / ".m.onnx.zzzzzzzz.tmp").write_bytes(b"left by an earlier kill")
    proc = subprocess.Popen([sys.executable, "-m", "lenet_cli", "export", "-f", "onnx", "-o", str(tmp_path / "m.onnx")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=REPO)
    wait_until(lambda: list(tmp_path.glob(".m.onnx.*.tmp")) and not (tmp_path / ".m.onnx.zzzzzzzz.tmp").exists(),
               proc, 60, "the export's temp file")
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert stderr.strip().startswith("error: Interrupted") and stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, needle", [
    (["train", "--bogus"], "No such option: --bogus"),
    (["predict", "--topk", "0", "x.png"], "Invalid value for '--topk'"),
    (["export"], "Missing option '--format'"),
    (["train", "--optimizer", "rmsprop"], "'rmsprop' is not one of sgd, adam, adamw"),
    (["trian"], "No such command 'trian'"),
    (["--bogus"], "No such option: --bogus"),
])
def test_usage_errors_are_one_line_and_exit_2(runner, args: list[str], needle: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1 and needle in result.stderr
    assert "╭" not in result.output  # no boxed panel


def test_a_gzip_bomb_behind_a_plausible_header_costs_nothing(tmp_path: Path) -> None:
    import gzip
    import resource

    from lenet_cli.data.idx import read_idx
    from lenet_cli.errors import DataFormatError

    header = bytes([0, 0, 0x08, 3]) + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as handle:  # 7,840 bytes declared, 512 MiB of zeros inside
        handle.write(header)
        for _ in range(512):
            handle.write(bytes(1 << 20))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DataFormatError, match="longer than its header says"):
        read_idx(bomb)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB: nowhere near 512 MiB
    huge = tmp_path / "huge.gz"
    huge.write_bytes(gzip.compress(bytes([0, 0, 0x08, 3]) + (2**32 - 1).to_bytes(4, "big") * 3))
    with pytest.raises(DataFormatError, match="declares"):
        read_idx(huge)


def test_unreadable_idx_files_and_an_unwritable_cache_are_one_line(runner, tmp_path: Path, monkeypatch) -> None:
    from lenet_cli.data import idx as idx_module

    data = write_mnist_files(tmp_path / "data")

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(idx_module, "open", refuse, raising=False)
    result = runner.invoke(app, ["train", "--dataset", f"idx:{data}", "--project", str(tmp_path)])
    assert result.exit_code == 77 and "Permission denied" in result.stderr and result.stderr.count("\n") == 1
    monkeypatch.delattr(idx_module, "open")  # reads work again; the test's other patches (no network) stay
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    result = runner.invoke(app, ["train", "--dataset", "kmnist", "--project", str(tmp_path)])
    assert result.exit_code == 69 and "is not writable" in result.stderr and result.stderr.count("\n") == 1


def test_odd_paths_are_one_line_each(runner, tmp_path: Path) -> None:
    long_name = "x" * 300
    result = runner.invoke(app, ["predict", str(tmp_path / f"{long_name}.png")])
    assert result.exit_code == 66 and "no such file" in result.stderr, result.output  # an input: not found
    result = runner.invoke(app, ["train", "--project", str(tmp_path / long_name), "--epochs", "1"])
    assert result.exit_code == 73 and "File name too long" in result.stderr and result.stderr.count("\n") == 1
    result = runner.invoke(app, ["predict", "-"], input=f"{tmp_path}/a\0b.png\n")
    assert result.exit_code == 66 and "no such file" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("line, needle", [
    ('epochs = "three"', 'epochs = "three" must be a whole number'),
    ("batch-size = 1.5", "batch-size = 1.5 must be a whole number"),
    ('deterministic = "no"', 'deterministic = "no" must be true or false'),
    ("epochs = true", "epochs = true must be a whole number"),
    ("dataset = 5", "dataset = 5 must be a string"),
    ("lr = { value = 1 }", "lr = a table must be a number"),
    ("learning-rate = 0.1", "unknown option 'learning-rate'; did you mean 'lr'?"),
    ("lerning-rate = 0.1", "unknown option 'lerning-rate'; did you mean 'lr'?"),
    ("epoks = 3", "unknown option 'epoks'; did you mean 'epochs'?"),
    ("epochs = 0", "--epochs must be at least 1"),
])
def test_config_file_values_are_checked_like_the_command_line(runner, tmp_path: Path, line: str, needle: str) -> None:
    config = tmp_path / "train.toml"
    config.write_text(f"[train]\n{line}\n")
    result = runner.invoke(app, ["train", "--config", str(config), "--project", str(tmp_path / "runs")])
    assert result.exit_code == 2 and needle in result.stderr and result.stderr.count("\n") == 1, result.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_raised_while_exiting_still_exits_with_the_signal_s_code(monkeypatch, sig: int, code: int) -> None:
    from lenet_cli.cli import app as app_module
    from lenet_cli.cli import guard, main as main_module

    def interrupted_late() -> None:
        guard._SIGNALS_RECEIVED.append(sig)  # the handler ran, and its KeyboardInterrupt got past the guard
        raise KeyboardInterrupt

    monkeypatch.setattr(app_module, "app", interrupted_late)
    monkeypatch.setattr(guard, "_SIGNALS_RECEIVED", [])
    monkeypatch.setattr(guard.signal, "signal", lambda *args: None)  # leave pytest's handlers alone
    monkeypatch.setattr(main_module.sys, "argv", ["lenet", "models"])
    monkeypatch.setattr(main_module, "_run_cleanup", lambda: None)  # pytest's own exit handlers stay its own

    def leave(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(main_module, "_leave", leave)
    with pytest.raises(SystemExit) as exited:
        main_module.main()
    assert exited.value.code == code


@pytest.mark.parametrize("text", ["seed = " + "1" * 5000 + "\n", "epochs = " + "[" * 100_000 + "]" * 100_000 + "\n"])
def test_a_config_file_beyond_the_toml_parser_s_limits_is_a_usage_error(runner, tmp_path: Path, text: str) -> None:
    config = tmp_path / "huge.toml"
    config.write_text(text)
    result = runner.invoke(app, ["train", "--config", str(config), "--print-config"])
    assert result.exit_code == 2 and "not a TOML file lenet can read" in result.stderr, result.output


def test_curves_mark_the_best_epoch_when_its_test_accuracy_was_not_measured(tmp_path: Path) -> None:
    from lenet_cli.evaluation.curves import draw_curves

    history = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 0.9, "val_acc": 0.6, "test_loss": None,
                "test_acc": None, "lr": 0.01}]
    draw_curves(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0


@pytest.mark.parametrize("command", ["predict", "eval", "export", "inspect", "train"])
def test_another_program_s_weights_are_bad_input_everywhere(runner, tmp_path: Path, command: str) -> None:
    import torch
    from PIL import Image

    foreign = tmp_path / "foreign.pt"
    torch.save({"just": torch.zeros(2)}, foreign)
    image = tmp_path / "digit.png"
    Image.new("L", (28, 28), 0).save(image)
    args = {"predict": ["predict", str(image), "-c", str(foreign)], "eval": ["eval", "-c", str(foreign)],
            "export": ["export", "-c", str(foreign), "--format", "torchscript", "-o", str(tmp_path / "m.ts")],
            "inspect": ["inspect", str(image), "-c", str(foreign), "-o", str(tmp_path / "i.png")],
            "train": ["train", "--resume", str(foreign)]}[command]
    result = runner.invoke(app, args)
    assert result.exit_code == 65 and "not a lenet checkpoint (found a dict with keys ['just'])" in result.stderr
