from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import FASHION_SYSTEM_DIR, make_images, write_mnist_files
from lenet_cli.data import DATASETS, get_dataset, list_datasets, locate
from lenet_cli.data.factory import BUNDLED_SHA256
from lenet_cli.data.idx import write_idx
from lenet_cli.data.search import BUNDLED_DIR
from lenet_cli.errors import DataFormatError, DataUnavailable, InputNotFound, UsageError


def test_every_declared_dataset_is_listed() -> None:
    assert list_datasets() == list(DATASETS)
    assert {"mnist", "fashion-mnist", "kmnist", "emnist-digits", "emnist-letters", "emnist-balanced",
            "qmnist", "usps", "svhn", "cifar10"} == set(list_datasets())
    assert len(DATASETS["emnist-balanced"].classes) == 47
    assert len(DATASETS["emnist-letters"].classes) == 26


def test_bundled_mnist_is_the_real_one() -> None:
    for name, digest in BUNDLED_SHA256.items():
        assert hashlib.sha256((BUNDLED_DIR / "mnist" / name).read_bytes()).hexdigest() == digest
    train = get_dataset("mnist", "train")
    test = get_dataset("mnist", "test")
    assert train.images.shape == (60000, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (10000, 1, 28, 28) and test.labels.dtype == torch.int64
    assert train.labels[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]  # the well-known first digits
    assert torch.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert "bundled" in train.source


def test_damaged_bundle_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    damaged = tmp_path / "bundled"
    shutil.copytree(BUNDLED_DIR, damaged)
    path = damaged / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-1])
    monkeypatch.setattr("lenet_cli.data.search.BUNDLED_DIR", damaged)
    with pytest.raises(DataFormatError, match="damaged"):
        get_dataset("mnist", "test")


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("dotted", [True, False])
def test_data_dir_accepts_both_naming_styles(tmp_path: Path, gz: bool, dotted: bool) -> None:
    write_mnist_files(tmp_path / "d", gz=gz, dotted=dotted)
    data = get_dataset("kmnist", "train", data_dir=tmp_path / "d")
    assert data.images.shape == (64, 1, 28, 28)
    expected_images, expected_labels = make_images(64, seed=1)
    np.testing.assert_array_equal(data.images[:, 0].numpy(), expected_images)
    np.testing.assert_array_equal(data.labels.numpy(), expected_labels)


def test_torchvision_layout_is_found(tmp_path: Path) -> None:
    write_mnist_files(tmp_path / "root" / "KMNIST" / "raw")
    assert get_dataset("kmnist", "test", data_dir=tmp_path / "root").images.shape[0] == 32


def test_search_order_data_dir_then_env_then_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_data_search: Path
) -> None:
    write_mnist_files(tmp_path / "flag", n_train=11)
    write_mnist_files(tmp_path / "env", n_train=12)
    write_mnist_files(isolated_data_search / "kmnist", n_train=13)
    monkeypatch.setenv("LENET_DATA_DIR", str(tmp_path / "env"))
    assert len(get_dataset("kmnist", data_dir=tmp_path / "flag")) == 11
    assert len(get_dataset("kmnist")) == 12
    monkeypatch.delenv("LENET_DATA_DIR")
    assert len(get_dataset("kmnist")) == 13


def test_system_copy_comes_before_bundled_mnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_mnist_files(tmp_path / "system" / "mnist", n_test=7)
    monkeypatch.setenv("LENET_SYSTEM_DATA_DIRS", str(tmp_path / "system"))
    assert len(get_dataset("mnist", "test")) == 7


def test_offline_and_missing_is_exit_69_naming_places_and_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENET_OFFLINE", "1")
    with pytest.raises(DataUnavailable) as info:
        get_dataset("kmnist", "train")
    message = str(info.value)
    assert info.value.exit_code == 69
    assert "train-images-idx3-ubyte.gz" in message and "--data-dir" in message and "cache" in message


def test_unknown_dataset_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="mnist"):
        get_dataset("mnits")


def test_count_mismatch_names_both_files(tmp_path: Path) -> None:
    write_mnist_files(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataFormatError, match="64 images but .* 5 labels"):
        get_dataset("kmnist", data_dir=tmp_path)


def test_truncated_dataset_file_is_exit_65(tmp_path: Path) -> None:
    write_mnist_files(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataFormatError, match="truncated") as info:
        get_dataset("kmnist", data_dir=tmp_path)
    assert info.value.exit_code == 65


def test_label_out_of_range_is_bad_data(tmp_path: Path) -> None:
    write_mnist_files(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(64, 12, np.uint8))
    with pytest.raises(DataFormatError, match="labels range"):
        get_dataset("kmnist", data_dir=tmp_path)


def test_emnist_images_are_transposed_and_letters_count_from_zero(tmp_path: Path) -> None:
    images, _ = make_images(4)
    write_idx(tmp_path / "emnist-letters-train-images-idx3-ubyte.gz", images.transpose(0, 2, 1).copy())
    write_idx(tmp_path / "emnist-letters-train-labels-idx1-ubyte.gz", np.array([1, 2, 26, 5], np.uint8))
    data = get_dataset("emnist-letters", "train", data_dir=tmp_path)
    np.testing.assert_array_equal(data.images[:, 0].numpy(), images)
    assert data.labels.tolist() == [0, 1, 25, 4]


def test_qmnist_reads_the_class_column_of_int_labels(tmp_path: Path) -> None:
    images, labels = make_images(5)
    extra = np.zeros((5, 8), np.int32)
    extra[:, 0] = labels
    extra[:, 1] = 99  # writer id etc.; must be ignored
    write_idx(tmp_path / "qmnist-test-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "qmnist-test-labels-idx2-int.gz", extra)
    assert get_dataset("qmnist", "test", data_dir=tmp_path).labels.tolist() == labels.tolist()


def test_idx_directory_dataset_with_class_names(tmp_path: Path) -> None:
    write_mnist_files(tmp_path)
    (tmp_path / "classes.txt").write_text("\n".join(f"c{i}" for i in range(10)) + "\n")
    data = get_dataset(f"idx:{tmp_path}", "test")
    assert len(data) == 32 and data.spec.classes[3] == "c3"
    assert data.spec.mean == (0.12247680872678757,)  # measured on the split's own pixels, on the 0..1 scale


def test_idx_directory_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound, match="t10k-images"):
        get_dataset(f"idx:{tmp_path}", "test")
    with pytest.raises(InputNotFound):
        get_dataset(f"idx:{tmp_path / 'nope'}", "test")


def _write_folder(root: Path) -> None:
    for split, count in (("train", 3), ("test", 2)):
        for name, value in (("cat", 30), ("dog", 220)):
            d = root / split / name
            d.mkdir(parents=True)
            for i in range(count):
                Image.new("L", (20, 20), value).save(d / f"{i}.png")


def test_image_folder_dataset(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    Image.new("RGB", (10, 10), (200, 10, 10)).save(tmp_path / "test" / "dog" / "big.jpg")
    data = get_dataset(f"folder:{tmp_path}", "test")
    assert data.spec.classes == ("cat", "dog")
    assert data.images.shape == (5, 3, 20, 20)  # one colour image makes the set RGB, sizes unified
    assert data.labels.tolist() == [0, 0, 1, 1, 1]


def test_image_folder_notes_what_its_owner_should_know(runner, tmp_path: Path) -> None:
    from lenet_cli.cli.app import app

    _write_folder(tmp_path)
    (tmp_path / "train" / "bird").mkdir()  # a class without images
    (tmp_path / "test" / "fish").mkdir()  # not a class of train
    Image.new("L", (20, 20), 90).save(tmp_path / "test" / "fish" / "0.png")
    data = get_dataset(f"folder:{tmp_path}", "test")
    assert data.spec.classes == ("bird", "cat", "dog") and len(data) == 4  # the fish is left out
    assert any("no images for class(es) bird" in note for note in data.notes)
    assert any("fish are not classes of the train split" in note for note in data.notes)
    result = runner.invoke(app, ["train", "--dataset", f"folder:{tmp_path}", "--project", str(tmp_path / "runs"),
                                 "--epochs", "1", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "fish" in result.stderr and "bird" in result.stderr
    single = tmp_path / "single"
    for split in ("train", "test"):
        (single / split / "only").mkdir(parents=True)
        Image.new("L", (20, 20), 30).save(single / split / "only" / "0.png")
    assert any("only one class" in note for note in get_dataset(f"folder:{single}", "train").notes)


def test_image_folder_corrupt_file_is_named(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    bad = tmp_path / "train" / "cat" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    with pytest.raises(DataFormatError, match="broken.png"):
        get_dataset(f"folder:{tmp_path}", "train")


def test_locate_reports_each_source(tmp_path: Path) -> None:
    assert locate(DATASETS["mnist"]).kind == "bundled"
    assert locate(DATASETS["kmnist"]).kind == "download"
    write_mnist_files(tmp_path)
    found = locate(DATASETS["kmnist"], data_dir=tmp_path)
    assert (found.kind, found.path) == ("local", tmp_path)


@pytest.mark.skipif(not FASHION_SYSTEM_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_from_the_system_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LENET_SYSTEM_DATA_DIRS")
    data = get_dataset("fashion-mnist", "test")
    assert data.source == str(FASHION_SYSTEM_DIR)
    assert data.images.shape == (10000, 1, 28, 28)
    assert torch.bincount(data.labels).tolist() == [1000] * 10
