"""Downloads through torchvision's dataset classes (their mirrors and checksums) into the cache.

Files land in a staging directory that is renamed into place only when every
split arrived and verified, so a failed or interrupted download leaves nothing
behind that a later search could mistake for data.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import urllib.error
from pathlib import Path

from ..errors import DataUnavailable, LenetError
from .search import cache_dir, expected_files_hint
from .specs import SPLITS, DatasetSpec

__all__ = ["download", "offline_requested"]


def offline_requested(offline: bool | None) -> bool:
    """``--offline`` when given, else ``LENET_OFFLINE`` (1/true/yes)."""
    if offline is not None:
        return offline
    return os.environ.get("LENET_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def download(spec: DatasetSpec) -> Path:
    """Download both splits of ``spec`` into ``<cache>/<name>`` and return that directory."""
    import torchvision.datasets as tv_datasets

    if not spec.torchvision_class:
        raise DataUnavailable(f"Dataset {spec.name!r} cannot be downloaded; put its files in --data-dir")
    dataset_class = getattr(tv_datasets, spec.torchvision_class)
    root = cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".download-{spec.name}-", dir=root))
    except OSError as exc:
        raise DataUnavailable(
            f"Cannot download {spec.name!r}: the cache {root} is not writable ({exc.strerror or exc}); set "
            f"XDG_CACHE_HOME to a writable directory, or put {expected_files_hint(spec)} in a directory and "
            "pass --data-dir DIR") from None
    try:
        # torchvision print()s progress; keep stdout clean for --json.
        with contextlib.redirect_stdout(sys.stderr):
            for split in SPLITS:
                dataset_class(root=str(staging), download=True, **spec.torchvision_args[split])
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, ImportError):
            raise LenetError(f"Dataset {spec.name!r} needs {exc.name}: pip install 'lenet-cli[all]'") from None
        if isinstance(exc, (RuntimeError, OSError, urllib.error.URLError)):
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataUnavailable(
                f"Could not download {spec.name!r} ({reason}); with no network, put "
                f"{expected_files_hint(spec)} in a directory and pass --data-dir DIR"
            ) from None
        raise
    final = root / spec.name
    if final.exists():  # an incomplete earlier copy in our own cache
        shutil.rmtree(final)
    staging.rename(final)
    return final
