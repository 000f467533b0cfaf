"""Datasets declared as data: classes, shapes, statistics, files and where they come from.

Nothing here imports torch. ``files`` are the names a local copy must have,
relative to the directory that holds it; IDX names are given without ``.gz``
and match gzipped or raw files in either naming style.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from ..registry import Registry

__all__ = ["DatasetSpec", "DATASETS", "SPLITS", "PREPROCESS_MODES"]

SPLITS = ("train", "test")
# How a picture becomes model input (`--preprocess`): find the ink and centre it as MNIST does, resize, or none.
PREPROCESS_MODES = ("mnist", "resize", "none")

_DIGITS = tuple(string.digits)
# EMNIST merges letters whose upper and lower case look alike (torchvision's list).
_EMNIST_MERGED = set("cijklmopsuvwxyz")
_EMNIST_BALANCED = tuple(sorted(set(string.digits + string.ascii_letters) - _EMNIST_MERGED))


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset's fixed facts. ``mean``/``std`` are per channel, on the 0..1 scale."""

    name: str
    title: str
    classes: tuple[str, ...]
    channels: int
    size: tuple[int, int]  # native (H, W)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    files: dict[str, tuple[str, ...]]  # split -> files a local copy needs
    loader: str  # "idx" (our reader) or "torchvision" (its dataset class reads the files)
    torchvision_class: str | None = None  # also its download path
    torchvision_args: dict[str, dict[str, Any]] = field(default_factory=dict)  # split -> kwargs
    citation: str = ""
    license: str = ""
    bundled: bool = False
    transpose: bool = False  # EMNIST stores images transposed
    label_offset: int = 0  # EMNIST letters count from 1
    label_column: int | None = None  # QMNIST labels are rows of 8 ints; column 0 is the class

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "num_classes": len(self.classes),
            "classes": list(self.classes),
            "shape": [self.channels, *self.size],
            "mean": list(self.mean),
            "std": list(self.std),
            "citation": self.citation,
            "license": self.license,
        }


def _idx_files(prefix: str = "", test: str = "t10k", labels: str = "labels-idx1-ubyte") -> dict[str, tuple[str, ...]]:
    return {
        "train": (f"{prefix}train-images-idx3-ubyte", f"{prefix}train-{labels}"),
        "test": (f"{prefix}{test}-images-idx3-ubyte", f"{prefix}{test}-{labels}"),
    }


def _train_flag() -> dict[str, dict[str, Any]]:
    return {"train": {"train": True}, "test": {"train": False}}


def _emnist(split: str, classes: tuple[str, ...], mean: float, std: float, offset: int = 0) -> DatasetSpec:
    return DatasetSpec(
        name=f"emnist-{split}",
        title=f"EMNIST {split}",
        classes=classes,
        channels=1,
        size=(28, 28),
        mean=(mean,),
        std=(std,),
        files=_idx_files(f"emnist-{split}-", test="test"),
        loader="idx",
        torchvision_class="EMNIST",
        torchvision_args={"train": {"split": split, "train": True}, "test": {"split": split, "train": False}},
        citation="Cohen, Afshar, Tapson, van Schaik 2017, EMNIST: an extension of MNIST to handwritten letters",
        license="public domain (NIST Special Database 19)",
        transpose=True,
        label_offset=offset,
    )


_ALL: list[DatasetSpec] = [
    DatasetSpec(
        name="mnist",
        title="MNIST handwritten digits",
        classes=_DIGITS,
        channels=1,
        size=(28, 28),
        mean=(0.1307,),
        std=(0.3081,),
        files=_idx_files(),
        loader="idx",
        torchvision_class="MNIST",
        torchvision_args=_train_flag(),
        citation="Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten digits",
        license="CC BY-SA 3.0",
        bundled=True,
    ),
    DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST (Zalando article images)",
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        channels=1,
        size=(28, 28),
        mean=(0.2860,),
        std=(0.3530,),
        files=_idx_files(),
        loader="idx",
        torchvision_class="FashionMNIST",
        torchvision_args=_train_flag(),
        citation="Xiao, Rasul, Vollgraf 2017, Fashion-MNIST",
        license="MIT",
    ),
    DatasetSpec(
        name="kmnist",
        title="Kuzushiji-MNIST (cursive Japanese)",
        classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        channels=1,
        size=(28, 28),
        mean=(0.1918,),
        std=(0.3483,),
        files=_idx_files(),
        loader="idx",
        torchvision_class="KMNIST",
        torchvision_args=_train_flag(),
        citation="Clanuwat et al. 2018, Deep Learning for Classical Japanese Literature",
        license="CC BY-SA 4.0",
    ),
    _emnist("digits", _DIGITS, 0.1733, 0.3317),
    _emnist("letters", tuple(string.ascii_lowercase), 0.1722, 0.3309, offset=-1),
    _emnist("balanced", _EMNIST_BALANCED, 0.1751, 0.3332),
    DatasetSpec(
        name="qmnist",
        title="QMNIST (MNIST reconstructed, 60k test digits)",
        classes=_DIGITS,
        channels=1,
        size=(28, 28),
        mean=(0.1309,),
        std=(0.3084,),
        files=_idx_files("qmnist-", test="test", labels="labels-idx2-int"),
        loader="idx",
        torchvision_class="QMNIST",
        torchvision_args={"train": {"what": "train"}, "test": {"what": "test"}},
        citation="Yadav, Bottou 2019, Cold Case: The Lost MNIST Digits",
        license="BSD",
        label_column=0,
    ),
    DatasetSpec(
        name="usps",
        title="USPS handwritten digits (16x16)",
        classes=_DIGITS,
        channels=1,
        size=(16, 16),
        mean=(0.2469,),
        std=(0.2989,),
        files={"train": ("usps.bz2",), "test": ("usps.t.bz2",)},
        loader="torchvision",
        torchvision_class="USPS",
        torchvision_args=_train_flag(),
        citation="Hull 1994, A database for handwritten text recognition research",
        license="research use",
    ),
    DatasetSpec(
        name="svhn",
        title="Street View House Numbers (cropped digits, colour)",
        classes=_DIGITS,
        channels=3,
        size=(32, 32),
        mean=(0.4377, 0.4438, 0.4728),
        std=(0.1980, 0.2010, 0.1970),
        files={"train": ("train_32x32.mat",), "test": ("test_32x32.mat",)},
        loader="torchvision",
        torchvision_class="SVHN",
        torchvision_args={"train": {"split": "train"}, "test": {"split": "test"}},
        citation="Netzer et al. 2011, Reading Digits in Natural Images with Unsupervised Feature Learning",
        license="non-commercial use",
    ),
    DatasetSpec(
        name="cifar10",
        title="CIFAR-10 (small colour photos)",
        classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        channels=3,
        size=(32, 32),
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        files={
            "train": tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)),
            "test": ("cifar-10-batches-py/test_batch",),
        },
        loader="torchvision",
        torchvision_class="CIFAR10",
        torchvision_args=_train_flag(),
        citation="Krizhevsky 2009, Learning Multiple Layers of Features from Tiny Images",
        license="research use",
    ),
]

DATASETS: Registry[DatasetSpec] = Registry("dataset", also_accepted=("idx:DIR", "folder:DIR"))
for _spec in _ALL:
    DATASETS.register(_spec.name, _spec)
