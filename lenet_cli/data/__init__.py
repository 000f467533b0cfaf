"""The dataset factory. Importing this package never imports torch."""

from __future__ import annotations

from .factory import Dataset, get_dataset, get_dataset_spec, list_datasets
from .search import Location, cache_dir, locate
from .specs import DATASETS, SPLITS, DatasetSpec

__all__ = [
    "DATASETS", "SPLITS", "Dataset", "DatasetSpec", "Location",
    "cache_dir", "get_dataset", "get_dataset_spec", "list_datasets", "locate",
]
