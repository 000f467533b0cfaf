"""The picture of docs/experiments.md: TensorBoard on runs logged with `lenet train --log tensorboard`.

    python bench/screenshots_tensorboard.py RUNS_DIR [--out docs/img/experiments/tensorboard.png]

Starts `tensorboard --logdir RUNS_DIR` on a free port of 127.0.0.1 (the package serves its own
page; nothing is fetched from the network), opens its time-series page in headless Chromium
at 1000 px, waits for the charts and saves a screenshot.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from browser import chromium, missing_browser  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "experiments" / "tensorboard.png")
    parser.add_argument("--tag-filter", default="accuracy", help="what the page's tag filter shows")
    args = parser.parse_args()
    if missing_browser():
        raise SystemExit(missing_browser())
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(args.runs), "--host",
                               "127.0.0.1", "--port", str(port)], stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(url)
        browser = chromium(1000, 720)  # narrow enough that a docs column shows it at about 70 %
        try:
            browser.get(f"{url}?tagFilter={args.tag_filter}#timeseries")
            time.sleep(12)  # the page loads its scalars in several rounds; charts draw after that
            args.out.parent.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(args.out))
        finally:
            browser.quit()
        print(f"wrote {args.out}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
