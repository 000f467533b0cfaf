"""Stopping lenet commands with Ctrl-C or SIGTERM at random moments, and judging how each one ended.

Shared by the test suite (a bounded, seeded number of kills) and bench/bench_signals.py (hundreds).
A kill lands anywhere: while torch is being imported, while the work runs, while files are written,
or as the process exits. Whatever the moment, the promise is: exit 130 (Ctrl-C, sent to the process
group as a terminal sends it) or 143 (SIGTERM), no traceback, no hang, no temp file left behind,
and never exit 0 after a stop.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

EXPECTED = {signal.SIGINT: 130, signal.SIGTERM: 143}
HANG_SECONDS = 60.0


@dataclass
class Kill:
    """One command stopped once, and how it ended."""

    command: str
    signal: str
    after: float  # seconds from start to the signal
    exit_code: int | None  # None: it hung and was killed
    traceback: bool
    stray_temp_files: list[str]
    stderr: str

    @property
    def verdict(self) -> str:
        """ok, finished (ended before the signal was sent), or what went wrong."""
        if self.exit_code is None:
            return "hang"
        if self.traceback:
            return "traceback"
        if self.stray_temp_files:
            return "stray temp file"
        if self.exit_code != EXPECTED[signal.Signals[self.signal]]:
            return f"exit {self.exit_code}"
        return "ok"


def write_pictures(directory: Path, count: int, seed: int = 0) -> Path:
    """``count`` small digit-like PNGs to predict."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        picture = np.full((40, 40), 235, np.uint8)
        y, x = rng.integers(8, 16, size=2)
        picture[y:y + 18, x + 6:x + 10] = 30  # a "1" somewhere near the middle
        Image.fromarray(picture).save(directory / f"p{i:05d}.png")
    return directory


def commands(work: Path, dataset: Path, pictures: Path) -> dict[str, list[str]]:
    """Each command under test, writing into its own folder under ``work``."""
    return {
        "train": ["train", "--dataset", f"idx:{dataset}", "--epochs", "2", "--seed", "0", "--val-split", "0.2",
                  "--project", str(work / "train"), "--batch-size", "64"],
        "eval": ["eval", "--plot", str(work / "eval"), "--json"],
        "export": ["export", "--format", "onnx", "-o", str(work / "export" / "m.onnx"), "--json"],
        "tune": ["tune", "--dataset", f"idx:{dataset}", "--trials", "2", "--epochs", "1",
                 "--project", str(work / "tune")],
        "predict": ["predict", str(pictures), "--json"],
    }


def kill_once(name: str, args: list[str], work: Path, window: float, rng: random.Random) -> Kill | None:
    """Start ``args``, signal it at a random moment within ``window`` s; None if it ended before the signal."""
    clean(work)
    sig = rng.choice([signal.SIGINT, signal.SIGTERM])
    after = rng.uniform(0.0, window)
    env = {**os.environ, "LENET_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lenet_cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                            preexec_fn=_as_a_foreground_job)
    time.sleep(after)
    if proc.poll() is not None or _exiting(proc.pid):  # its exit code was decided before the signal
        proc.communicate()
        return None
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # a terminal's Ctrl-C reaches the whole group: workers too
    else:
        proc.send_signal(sig)
    try:
        _, stderr = proc.communicate(timeout=HANG_SECONDS)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, stderr = proc.communicate()
        code = None
    text = stderr.decode("utf-8", "replace")
    strays = sorted(str(p.relative_to(work)) for p in work.rglob(".*.tmp"))
    for stray in strays:  # judged once; the next kill starts clean
        (work / stray).unlink(missing_ok=True)
    return Kill(name, sig.name, round(after, 3), code, "Traceback" in text or "terminate called" in text,
                strays, text[-600:])


def _as_a_foreground_job() -> None:
    """Ctrl-C as a terminal's foreground job gets it: a shell starts background jobs (`cmd &`, so also a
    harness started that way) with SIGINT ignored, and lenet rightly leaves an ignored Ctrl-C ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _exiting(pid: int) -> bool:
    """Whether the process has begun to exit (the kernel's PF_EXITING flag): a signal now stops nothing.

    Ending a process that mapped torch takes the kernel milliseconds, and the process still looks alive.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return bool(int(fields[6]) & 0x4)


def clean(work: Path) -> None:
    """Empty the command folders, so every kill starts a new run, study and export."""
    import shutil

    for folder in ("train", "eval", "export", "tune"):
        shutil.rmtree(work / folder, ignore_errors=True)
        (work / folder).mkdir(parents=True)
