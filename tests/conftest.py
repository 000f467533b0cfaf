"""Shared fixtures: no network, an isolated data search path, tiny datasets in real formats."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lenet_cli.data.idx import write_idx

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


class NetworkAccessInTest(RuntimeError):
    pass


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}  # the servers tests start listen here, and only here


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) and address else address
    return isinstance(host, str) and (host in LOOPBACK_HOSTS or host.startswith("127."))


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any test that opens a socket to another host fails loudly; loopback and Unix sockets are allowed."""
    connect, create_connection, getaddrinfo = socket.socket.connect, socket.create_connection, socket.getaddrinfo

    def guard(real):
        def checked(*args, **kwargs):
            address = args[1] if real is connect else args[0]
            local_socket = real is connect and args[0].family == socket.AF_UNIX  # a file, e.g. a process pool's
            if not (local_socket or _is_loopback(address)):
                raise NetworkAccessInTest(f"a test tried to use the network: {args!r}")
            return real(*args, **kwargs)

        return checked

    monkeypatch.setattr(socket.socket, "connect", guard(connect))
    monkeypatch.setattr(socket, "create_connection", guard(create_connection))
    monkeypatch.setattr(socket, "getaddrinfo", guard(getaddrinfo))


@pytest.fixture(autouse=True)
def isolated_data_search(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test gets an empty cache and no system copies, unless it opts back in."""
    cache_home = tmp_path_factory.mktemp("cache-home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.delenv("LENET_DATA_DIR", raising=False)
    monkeypatch.delenv("LENET_OFFLINE", raising=False)
    monkeypatch.setenv("LENET_SYSTEM_DATA_DIRS", "")
    monkeypatch.setenv("COLUMNS", "200")  # wide tables in CliRunner output
    return cache_home / "lenet"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def make_images(n: int, size: int = 28, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random-but-learnable images: class k has a bright bar at row 2k+4."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, size, size)).astype(np.uint8)
    for i, label in enumerate(labels):
        row = 4 + 2 * int(label)
        images[i, row : row + 2, 4 : size - 4] = 250
    return images, labels


def write_mnist_files(directory: Path, n_train: int = 64, n_test: int = 32, *, gz: bool = True,
                      dotted: bool = False, prefix: str = "") -> Path:
    """MNIST-format IDX files as the real dataset names them (or in the dotted style)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stem, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        images, labels = make_images(n, seed=seed)
        sep = "." if dotted else "-"
        suffix = ".gz" if gz else ""
        write_idx(directory / f"{prefix}{stem}-images{sep}idx3-ubyte{suffix}", images)
        write_idx(directory / f"{prefix}{stem}-labels{sep}idx1-ubyte{suffix}", labels)
    return directory


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    return write_mnist_files(tmp_path / "tiny-mnist")


def gzip_bytes(payload: bytes) -> bytes:
    return gzip.compress(payload)


def invoke_in_fresh_process(args: list[str], modules: tuple[str, ...]) -> tuple[str, dict[str, bool]]:
    """Run the CLI in a new interpreter; its stdout, and which of ``modules`` it imported."""
    code = (
        "import json, sys\nfrom typer.testing import CliRunner\nfrom lenet_cli.cli.app import app\n"
        f"r = CliRunner().invoke(app, {args!r})\n"
        "assert r.exit_code == 0, r.output\nprint(r.stdout)\n"
        f"print(json.dumps({{m: m in sys.modules for m in {list(modules)!r}}}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    stdout, _, imported = done.stdout.rstrip("\n").rpartition("\n")
    return stdout, json.loads(imported)


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A directory on a 96 KiB tmpfs, to fill the disk for real; root only (CI runs as root)."""
    import os

    mount = tmp_path / "tiny-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill needs root; CI runs as root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def wait_until(ready, proc: subprocess.Popen, timeout: float = 120.0, what: str = "the process") -> None:
    """Poll ``ready()`` while ``proc`` runs; fail with its stderr if it ends first, or on timeout."""
    import time

    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"{what} ended first: {proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
