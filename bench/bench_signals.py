"""Hundreds of Ctrl-C and SIGTERM at random moments: train, eval, export, tune and a 10,000-picture predict.

Each command runs once to completion to learn how long it takes, then is stopped ``--kills`` times at
uniformly random moments within that time (the torch import, the work, the writing, the exit), half
by Ctrl-C to the process group, half by SIGTERM to the process. Prints one JSON report: per command,
how many kills ended each way (``ok`` is 130 / 143 with no traceback, no hang and no temp file left;
``finished`` means the command had ended before the signal), and every kill that was not ok.

    python bench/bench_signals.py [--kills 40] [--pictures 10000] [--seed 0] [--commands tune predict]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import signal_kills  # noqa: E402
from conftest import write_mnist_files  # noqa: E402


def seconds_to_finish(args: list[str], work: Path) -> float:
    """One whole run of the command: how long it takes (it must succeed)."""
    signal_kills.clean(work)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lenet_cli", *args], capture_output=True, text=True,
                          env={**os.environ, "LENET_OFFLINE": "1"})
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed on its own: {done.stderr[-500:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=40, help="kills per command")
    parser.add_argument("--pictures", type=int, default=10_000, help="pictures predict reads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--commands", nargs="+", default=None, help="only these (train eval export tune predict)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lenet-kills-"))
    dataset = write_mnist_files(root / "data", n_train=2000, n_test=200)
    pictures = signal_kills.write_pictures(root / "pictures", args.pictures)
    commands = signal_kills.commands(root / "work", dataset, pictures)
    rng = random.Random(args.seed)
    report: dict = {"kills_per_command": args.kills, "pictures": args.pictures, "seed": args.seed, "commands": {}}
    for name, command in commands.items():
        if args.commands and name not in args.commands:
            continue
        window = seconds_to_finish(command, root / "work")
        verdicts: collections.Counter = collections.Counter()
        failures = []
        for _ in range(args.kills):
            kill = signal_kills.kill_once(name, command, root / "work", window, rng)
            verdicts["finished" if kill is None else kill.verdict] += 1
            if kill is not None and kill.verdict != "ok":
                failures.append({"signal": kill.signal, "after_s": kill.after, "verdict": kill.verdict,
                                 "stderr_tail": kill.stderr[-300:]})
        report["commands"][name] = {"seconds_to_finish": round(window, 2), **verdicts, "not_ok": failures}
        print(name, dict(verdicts), file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
