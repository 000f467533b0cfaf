"""Where a dataset's files are: the search order of the design notes, without loading anything.

``--data-dir`` -> ``$LENET_DATA_DIR`` -> the user cache -> system copies
(``/usr/share/datasets/<name>``) -> the copy bundled in the package -> download.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .specs import SPLITS, DatasetSpec

__all__ = ["Location", "cache_dir", "search_bases", "locate", "find_idx_file", "expected_files_hint", "BUNDLED_DIR"]

BUNDLED_DIR = Path(__file__).parent / "bundled"
_DEFAULT_SYSTEM_DIRS = "/usr/share/datasets"


@dataclass
class Location:
    """Where a split would come from right now: ``local``, ``bundled`` or ``download``."""

    kind: str
    path: Path | None = None  # the directory holding the files (None for download)
    searched: list[Path] = field(default_factory=list)  # every directory looked at

    def describe(self) -> str:
        return "needs download" if self.kind == "download" else f"{self.kind}: {self.path}"


def cache_dir() -> Path:
    """The user cache, ``$XDG_CACHE_HOME/lenet`` or ``~/.cache/lenet``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lenet"


def search_bases(data_dir: str | Path | None = None) -> list[Path]:
    """Base directories in search order (before the bundled copy)."""
    bases: list[Path] = []
    if data_dir:
        bases.append(Path(data_dir).expanduser())
    if os.environ.get("LENET_DATA_DIR"):
        bases.append(Path(os.environ["LENET_DATA_DIR"]).expanduser())
    bases.append(cache_dir())
    # Overridable so tests (and unusual systems) control which system copies count.
    system = os.environ.get("LENET_SYSTEM_DATA_DIRS", _DEFAULT_SYSTEM_DIRS)
    bases.extend(Path(p) for p in system.split(os.pathsep) if p)
    return bases


def _candidate_dirs(spec: DatasetSpec, base: Path) -> list[Path]:
    """A base may hold the files directly, per dataset, or in torchvision's layout."""
    dirs = [base, base / spec.name]
    if spec.torchvision_class:
        dirs += [base / spec.torchvision_class / "raw", base / spec.name / spec.torchvision_class / "raw"]
    return dirs


def _idx_names(name: str) -> list[str]:
    dotted = name.replace("-idx", ".idx", 1)
    return [name, name + ".gz", dotted, dotted + ".gz"]


def find_idx_file(directory: Path, name: str) -> Path | None:
    """The file in ``directory`` matching IDX ``name`` (raw or .gz, dash or dot style)."""
    for candidate in _idx_names(name):
        path = directory / candidate
        if path.is_file():
            return path
    return None


def find_split_files(spec: DatasetSpec, directory: Path, split: str) -> list[Path] | None:
    """The split's files in ``directory``, or None when any is missing."""
    found: list[Path] = []
    for name in spec.files[split]:
        path = find_idx_file(directory, name) if spec.loader == "idx" else directory / name
        if path is None or not path.is_file():
            return None
        found.append(path)
    return found


def locate(spec: DatasetSpec, splits: tuple[str, ...] = SPLITS, data_dir: str | Path | None = None) -> Location:
    """The first directory in search order holding all of ``splits``, else bundled, else download."""
    searched: list[Path] = []
    for base in search_bases(data_dir):
        for directory in _candidate_dirs(spec, base):
            searched.append(directory)
            if all(find_split_files(spec, directory, s) for s in splits):
                return Location("local", directory, searched)
    if spec.bundled:
        return Location("bundled", BUNDLED_DIR / spec.name, searched)
    return Location("download", None, searched)


def expected_files_hint(spec: DatasetSpec) -> str:
    """One line naming the files a user can put in place by hand."""
    names = [f"{n}.gz" if spec.loader == "idx" else n for split in SPLITS for n in spec.files[split]]
    return ", ".join(names)
