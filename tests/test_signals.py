"""Ctrl-C and SIGTERM at random moments of train, eval, export, tune and predict: 130 / 143, one stop.

Each command runs once to completion (exit 0) to learn how long it takes; then it is stopped at
seeded random moments within that time (the torch import, the work, the writing, the exit), each
kill judged by ``signal_kills.Kill.verdict``. bench/bench_signals.py runs hundreds of these.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import signal_kills
from conftest import write_mnist_files

KILLS_PER_COMMAND = 3


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("kills")
    dataset = write_mnist_files(root / "data", n_train=1000, n_test=100)
    pictures = signal_kills.write_pictures(root / "pictures", 300)
    return root / "work", signal_kills.commands(root / "work", dataset, pictures)


def _seconds_to_finish(args: list[str], work: Path) -> float:
    signal_kills.clean(work)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lenet_cli", *args], capture_output=True, text=True,
                          env={**os.environ, "LENET_OFFLINE": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return time.perf_counter() - start


@pytest.mark.parametrize("name", ["train", "eval", "export", "tune", "predict"])
def test_a_stop_at_any_moment_exits_130_or_143_cleanly(setting, name: str) -> None:
    work, commands = setting
    if name == "tune":
        pytest.importorskip("optuna", reason="lenet tune needs the tune extra")
    if name == "export":
        pytest.importorskip("onnx", reason="ONNX export needs the onnx extra")
    window = _seconds_to_finish(commands[name], work)
    rng = random.Random(f"{name}-kills")
    kills = [signal_kills.kill_once(name, commands[name], work, window, rng) for _ in range(KILLS_PER_COMMAND)]
    judged = [(kill.signal, kill.after, kill.verdict, kill.stderr) for kill in kills if kill is not None]
    assert judged, "every kill came after the command had finished"
    assert all(verdict == "ok" for _, _, verdict, _ in judged), judged


def test_a_background_job_keeps_ignoring_ctrl_c(setting) -> None:
    """Started with SIGINT ignored (`lenet ... &` from a script), lenet leaves it so: Ctrl-C at the terminal
    is not meant for background jobs."""
    work, commands = setting
    proc = subprocess.Popen([sys.executable, "-m", "lenet_cli", *commands["eval"]], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_before_the_command_s_handlers_exist_is_answered_too(sig: int, code: int) -> None:
    """The entry point records a signal from its first line; the command then stops with one line."""
    started = (f"import os, signal, sys; sys.argv = ['lenet', 'models']; import lenet_cli.__main__ as entry; "
               f"os.kill(os.getpid(), {int(sig)}); entry.main()")
    done = subprocess.run([sys.executable, "-c", started], capture_output=True, text=True, timeout=60,
                          preexec_fn=signal_kills._as_a_foreground_job)
    assert done.returncode == code
    assert done.stderr == "error: Interrupted; nothing was left half-written\n" and done.stdout == ""


def test_typer_s_silent_answer_to_an_interrupt_is_recognised() -> None:
    """Typer answers a KeyboardInterrupt outside the guard with a silent Exit(130) (even for SIGTERM), which
    click turns into SystemExit; main recognises that chain and answers with its own line and 130 / 143. An
    exit raised after the guard already answered (``raise Interrupted(...) from None``) is left alone."""
    from lenet_cli.cli.main import _answers_an_interrupt

    def typer_like() -> SystemExit:
        try:
            try:
                try:
                    raise KeyboardInterrupt
                except KeyboardInterrupt as interrupt:
                    raise RuntimeError("Exit(130)") from interrupt
            except RuntimeError:
                raise SystemExit(130)
        except SystemExit as exc:
            return exc

    def guard_like() -> SystemExit:
        try:
            try:
                try:
                    raise KeyboardInterrupt
                except KeyboardInterrupt:
                    raise ValueError("Interrupted") from None
            except ValueError:
                raise SystemExit(143)
        except SystemExit as exc:
            return exc

    assert _answers_an_interrupt(typer_like())
    assert not _answers_an_interrupt(guard_like())
