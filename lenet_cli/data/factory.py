"""The dataset factory: any dataset name -> a whole split as in-memory uint8 tensors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataFormatError, DataUnavailable, InputNotFound, LenetError, UsageError
from ..files import note_input
from .download import download, offline_requested
from .idx import read_idx
from .images import IMAGE_SUFFIXES, open_image
from .search import Location, expected_files_hint, find_idx_file, find_split_files, locate
from .specs import DATASETS, SPLITS, DatasetSpec

if TYPE_CHECKING:
    import torch

__all__ = ["Dataset", "get_dataset", "get_dataset_spec", "list_datasets", "BUNDLED_SHA256"]

# The bundled MNIST, verified at every load (a damaged install must not train silently).
BUNDLED_SHA256 = {
    "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}


@dataclass
class Dataset:
    """One split in memory: ``images`` uint8 N x C x H x W, ``labels`` int64 N."""

    images: torch.Tensor
    labels: torch.Tensor
    spec: DatasetSpec
    split: str
    source: str  # where the data was read from, for logs and run records
    notes: list[str] = field(default_factory=list)  # things worth a warning (empty classes, ...), not errors
    _fingerprint: str | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def fingerprint(self) -> str:
        """SHA-256 of the images and labels as loaded (identifies the data a run used)."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            digest.update(self.images.numpy().tobytes())
            digest.update(self.labels.numpy().tobytes())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint


def list_datasets(pattern: str | None = None) -> list[str]:
    """Names of the built-in datasets in declaration order, optionally filtered by a glob pattern
    (``idx:DIR`` and ``folder:DIR`` are accepted too)."""
    return DATASETS.names(pattern)


def get_dataset_spec(name: str) -> DatasetSpec:
    """The spec of a built-in dataset; unknown names raise with the nearest and the valid ones."""
    return DATASETS[name]


def get_dataset(
    name: str,
    split: str = "train",
    *,
    data_dir: str | Path | None = None,
    offline: bool | None = None,
) -> Dataset:
    """Load ``split`` of dataset ``name`` following the search order, downloading if allowed.

    A split without images is bad input (exit 65): nothing can be trained or measured on it.
    """
    data = _load(name, split, data_dir, offline)
    if len(data) == 0:
        raise DataFormatError(f"Dataset {name!r}: the {split} split holds no images ({data.source})")
    return data


def _load(name: str, split: str, data_dir: str | Path | None, offline: bool | None) -> Dataset:
    if split not in SPLITS:
        raise UsageError(f"Unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if name.startswith("idx:"):
        return _load_idx_dir(Path(name[4:]).expanduser(), split)
    if name.startswith("folder:"):
        return _load_image_folder(Path(name[7:]).expanduser(), split)
    spec = get_dataset_spec(name)
    location = locate(spec, (split,), data_dir)
    if location.kind == "bundled":
        _verify_bundled(location.path)
    elif location.kind == "download":
        location = _download_or_explain(spec, split, location, offline)
    return _read(spec, split, location)


def _download_or_explain(spec: DatasetSpec, split: str, location: Location, offline: bool | None) -> Location:
    if offline_requested(offline):
        looked = ", ".join(str(p) for p in _unique_bases(location.searched))
        raise DataUnavailable(
            f"Dataset {spec.name!r} not found (looked in {looked}) and offline mode is on; "
            f"put {expected_files_hint(spec)} in a directory and pass --data-dir DIR, or allow downloads"
        )
    path = download(spec)
    found = locate(spec, (split,), path.parent)
    if found.kind != "local":  # torchvision succeeded but left an unexpected layout
        raise DataUnavailable(f"Downloaded {spec.name!r} into {path} but its files were not found there")
    return found


def _unique_bases(paths: list[Path]) -> list[Path]:
    seen: list[Path] = []
    for p in paths:
        if p not in seen and not any(parent in seen for parent in p.parents):
            seen.append(p)
    return seen


def _verify_bundled(directory: Path | None) -> None:
    assert directory is not None
    for filename, expected in BUNDLED_SHA256.items():
        path = directory / filename
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            raise DataFormatError(f"{path}: bundled MNIST file is missing or damaged; reinstall lenet-cli")


def _read(spec: DatasetSpec, split: str, location: Location) -> Dataset:
    assert location.path is not None
    files = find_split_files(spec, location.path, split)
    assert files is not None
    for path in files:  # torchvision's readers open these too; idx's note them anyway
        note_input(path)
    if spec.loader == "idx":
        images, labels = _read_idx_pair(files[0], files[1], spec.label_column)
        if spec.transpose:
            images = np.ascontiguousarray(images.transpose(0, 2, 1))
        labels = labels + spec.label_offset
    else:
        images, labels = _read_with_torchvision(spec, split, location.path)
    _check_labels(labels, len(spec.classes), location.path)
    return _as_dataset(images, labels, spec, split, str(location.path))


def _read_idx_pair(image_file: Path, label_file: Path, label_column: int | None) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(image_file, ndim=3)
    labels = read_idx(label_file, ndim=1 if label_column is None else 2)
    if label_column is not None:
        labels = labels[:, label_column]
    if len(images) != len(labels):
        raise DataFormatError(f"{image_file} holds {len(images)} images but {label_file} holds {len(labels)} labels")
    if images.dtype != np.uint8:
        raise DataFormatError(f"{image_file}: expected unsigned byte pixels, found {images.dtype}")
    return images, labels.astype(np.int64)


def _check_labels(labels: np.ndarray, num_classes: int, where: Path) -> None:
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataFormatError(
            f"{where}: labels range {labels.min()}..{labels.max()}, expected 0..{num_classes - 1}"
        )


def _read_with_torchvision(spec: DatasetSpec, split: str, root: Path) -> tuple[np.ndarray, np.ndarray]:
    import torchvision.datasets as tv_datasets

    dataset_class = getattr(tv_datasets, spec.torchvision_class or "")
    try:
        dataset: Any = dataset_class(root=str(root), download=False, **spec.torchvision_args[split])
    except ImportError as exc:
        raise LenetError(f"Dataset {spec.name!r} needs {exc.name}: pip install 'lenet-cli[all]'") from None
    except (RuntimeError, OSError, ValueError, EOFError) as exc:
        raise DataFormatError(f"{root}: could not read {spec.name!r} files ({exc})") from None
    images = np.asarray(dataset.data)
    labels = np.asarray(dataset.targets if hasattr(dataset, "targets") else dataset.labels)  # SVHN says labels
    if images.ndim == 4 and images.shape[-1] in (1, 3):  # N x H x W x C (CIFAR) -> N x C x H x W
        images = images.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _as_dataset(images: np.ndarray, labels: np.ndarray, spec: DatasetSpec, split: str, source: str) -> Dataset:
    import torch

    if images.ndim == 3:
        images = images[:, None]  # N x 1 x H x W
    return Dataset(torch.from_numpy(images), torch.from_numpy(labels), spec, split, source)


def _custom_spec(name: str, classes: tuple[str, ...], images: np.ndarray) -> DatasetSpec:
    """A spec for user data; mean and std are measured on the loaded images (an empty split has none)."""
    scaled = images.astype(np.float32) / 255.0
    axes = (0, 2, 3) if scaled.ndim == 4 else None
    channels = images.shape[1] if images.ndim == 4 else 1
    if len(images) == 0:  # refused by get_dataset; no statistics (and no NumPy warnings) for nothing
        mean, std = (0.0,) * channels, (1.0,) * channels
    else:
        mean = tuple(float(m) for m in np.atleast_1d(scaled.mean(axis=axes)))
        std = tuple(max(float(s), 1e-6) for s in np.atleast_1d(scaled.std(axis=axes)))
    return DatasetSpec(
        name=name, title=f"user data ({name})", classes=classes, channels=channels,
        size=(images.shape[-2], images.shape[-1]), mean=mean, std=std, files={}, loader="custom",
    )


def _class_names_file(directory: Path) -> tuple[str, ...] | None:
    path = directory / "classes.txt"
    if not path.is_file():
        return None
    return tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def _load_idx_dir(directory: Path, split: str) -> Dataset:
    """``idx:DIR``: MNIST-format files in DIR; optional ``classes.txt`` names the classes."""
    if not directory.is_dir():
        raise InputNotFound(f"Directory {directory} not found (from idx:{directory})")
    stem = "train" if split == "train" else "t10k"
    pair = [find_idx_file(directory, f"{stem}-{kind}") for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")]
    if pair[0] is None or pair[1] is None:
        raise InputNotFound(
            f"{directory} has no {stem}-images-idx3-ubyte[.gz] and {stem}-labels-idx1-ubyte[.gz] "
            "(dash or dot naming, gzipped or raw)"
        )
    images, labels = _read_idx_pair(pair[0], pair[1], None)
    classes = _class_names_file(directory) or _idx_classes(directory, labels)
    _check_labels(labels, len(classes), directory)
    spec = _custom_spec(f"idx:{directory}", classes, images)
    return _as_dataset(images, labels, spec, split, str(directory))


def _idx_classes(directory: Path, labels: np.ndarray) -> tuple[str, ...]:
    """Classes 0..K-1, K from the labels of both splits, so a split missing a class still fits the model."""
    highest = int(labels.max(initial=0))
    for stem in ("train", "t10k"):
        other = find_idx_file(directory, f"{stem}-labels-idx1-ubyte")
        if other is not None:
            highest = max(highest, int(read_idx(other, ndim=1).max(initial=0)))
    return tuple(str(i) for i in range(highest + 1))


def _load_image_folder(directory: Path, split: str) -> Dataset:
    """``folder:DIR``: images in ``DIR/<split>/<class>/``; classes come from ``DIR/train``."""
    split_dir = directory / split
    if not split_dir.is_dir():
        raise InputNotFound(f"{split_dir} not found; folder datasets need DIR/train/<class>/ and DIR/test/<class>/")
    class_root = directory / "train" if (directory / "train").is_dir() else split_dir
    classes = tuple(sorted(p.name for p in class_root.iterdir() if p.is_dir()))
    if not classes:
        raise InputNotFound(f"{class_root} has no class subdirectories")
    paths: list[tuple[Path, int]] = []
    for index, class_name in enumerate(classes):
        class_dir = split_dir / class_name
        if class_dir.is_dir():
            paths += [(p, index) for p in sorted(class_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not paths:
        raise InputNotFound(f"{split_dir} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    pictures = [open_image(path) for path, _ in paths]  # named DataFormatError for any bad file
    colour = any(p.mode in ("RGB", "RGBA") for p in pictures)
    mode = "RGB" if colour else "L"
    size = pictures[0].size  # all images are brought to the first one's size
    arrays = [np.asarray(p.convert(mode) if p.size == size else p.convert(mode).resize(size)) for p in pictures]
    images = np.stack(arrays)
    images = images.transpose(0, 3, 1, 2) if colour else images
    labels = np.array([label for _, label in paths], dtype=np.int64)
    spec = _custom_spec(f"folder:{directory}", classes, images)
    dataset = _as_dataset(np.ascontiguousarray(images), labels, spec, split, str(split_dir))
    dataset.notes = _folder_notes(split_dir, classes, labels)
    return dataset


def _folder_notes(split_dir: Path, classes: tuple[str, ...], labels: np.ndarray) -> list[str]:
    """What a folder dataset's owner should hear: one class only, empty classes, folders that are no class."""
    notes = []
    if len(classes) == 1:
        notes.append(f"{split_dir.parent}: only one class ({classes[0]}); every prediction will be {classes[0]}")
    counts = np.bincount(labels, minlength=len(classes))
    empty = [name for name, count in zip(classes, counts) if count == 0]
    if empty:
        notes.append(f"{split_dir}: no images for class(es) {', '.join(empty)}")
    unknown = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and p.name not in classes)
    if unknown:
        notes.append(f"{split_dir}: folder(s) {', '.join(unknown)} are not classes of the train split; "
                     "their images are left out")
    return notes

