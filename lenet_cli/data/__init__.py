"""The dataset factory. Importing this package never imports torch, and loads a submodule only when one
of its names is first used (``lenet predict`` needs images.py, not the factory)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_PUBLIC = {  # public name -> the submodule that defines it
    "Dataset": "factory", "get_dataset": "factory", "get_dataset_spec": "factory", "list_datasets": "factory",
    "Location": "search", "cache_dir": "search", "locate": "search",
    "DATASETS": "specs", "SPLITS": "specs", "DatasetSpec": "specs",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)

if TYPE_CHECKING:
    from .factory import Dataset, get_dataset, get_dataset_spec, list_datasets
    from .search import Location, cache_dir, locate
    from .specs import DATASETS, SPLITS, DatasetSpec
