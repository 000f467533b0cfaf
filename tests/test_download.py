"""The real torchvision download path, driven by a fake ``urlopen`` (no test touches the network)."""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torchvision.datasets

from conftest import write_mnist_files
from lenet_cli.data import get_dataset
from lenet_cli.errors import DataUnavailable

MIRRORS = ["https://mirror-a.invalid/kmnist/", "https://mirror-b.invalid/kmnist/"]


class FakeResponse(io.BytesIO):
    def __init__(self, url: str, payload: bytes) -> None:
        super().__init__(payload)
        self.url = url
        self.length = len(payload)
        self.status = 200


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """KMNIST's real resource names, served from tiny files; returns url -> bytes (editable)."""
    files = write_mnist_files(tmp_path / "upstream")
    payloads = {p.name: p.read_bytes() for p in files.iterdir()}
    resources = [(name, hashlib.md5(data).hexdigest()) for name, data in sorted(payloads.items())]
    monkeypatch.setattr(torchvision.datasets.KMNIST, "mirrors", MIRRORS)
    monkeypatch.setattr(torchvision.datasets.KMNIST, "resources", resources)
    table = {mirror + name: data for mirror in MIRRORS for name, data in payloads.items()}
    requested: list[str] = []

    def fake_urlopen(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        requested.append(url)
        if url not in table:
            raise urllib.error.URLError(f"no route to {url}")
        return FakeResponse(url, table[url])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    table["_requested"] = requested  # type: ignore[assignment]
    return table


def test_download_success_lands_in_the_cache_and_is_reused(served, isolated_data_search: Path) -> None:
    data = get_dataset("kmnist", "train")
    assert data.images.shape == (64, 1, 28, 28)
    assert Path(data.source).is_relative_to(isolated_data_search / "kmnist")
    count = len(served["_requested"])
    assert count > 0
    assert len(get_dataset("kmnist", "test")) == 32
    assert len(served["_requested"]) == count  # second load: no download


def test_checksum_mismatch_on_every_mirror_is_exit_69_and_leaves_nothing(served, isolated_data_search: Path) -> None:
    for url in list(served):
        if url.endswith("train-images-idx3-ubyte.gz"):
            served[url] = b"\x1f\x8b tampered"
    with pytest.raises(DataUnavailable) as info:
        get_dataset("kmnist", "train")
    assert info.value.exit_code == 69
    assert "--data-dir" in str(info.value)
    leftovers = [p for p in isolated_data_search.iterdir()] if isolated_data_search.exists() else []
    assert leftovers == []


def test_all_mirrors_failing_is_exit_69(served) -> None:
    for url in [u for u in served if u.startswith("https://")]:
        del served[url]
    with pytest.raises(DataUnavailable, match="Could not download 'kmnist'"):
        get_dataset("kmnist", "train")
    assert any(u.startswith(MIRRORS[1]) for u in served["_requested"])  # both mirrors were tried


def test_offline_skips_the_download(served, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataUnavailable, match="offline"):
        get_dataset("kmnist", "train", offline=True)
    assert served["_requested"] == []
