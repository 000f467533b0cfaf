"""lenet export: three formats, verified, with metadata; ONNX models predict without torch."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import invoke_in_fresh_process, write_mnist_files
from lenet_cli.cli.app import app
from lenet_cli.data.search import BUNDLED_DIR
from lenet_cli.export import get_format, list_formats
from lenet_cli.export.registry import Loaded
from lenet_cli.export.safetensors_format import Safetensors
from lenet_cli.inference.loading import BUNDLED_WEIGHTS
from photo_digits import load_mnist_test

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")


def _export(runner, *args: str) -> tuple[int, dict, str]:
    result = runner.invoke(app, ["export", *args, "--json"])
    return result.exit_code, (json.loads(result.stdout) if result.exit_code == 0 else {}), result.stderr


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], np.ndarray]:
    images, labels = load_mnist_test(BUNDLED_DIR / "mnist")
    directory = tmp_path_factory.mktemp("digits")
    paths = []
    for i in range(12):
        paths.append(directory / f"{i:02d}.png")
        Image.fromarray(255 - images[i]).resize((84, 84), Image.BICUBIC).save(paths[-1])
    return paths, labels[:12]


def test_onnx_export_is_verified_and_carries_metadata(runner, tmp_path: Path) -> None:
    out = tmp_path / "lenet5.onnx"
    code, data, stderr = _export(runner, "--format", "onnx", "--out", str(out))
    assert code == 0, stderr
    check = data["verification"]
    assert check["passed"] and check["images"] == 256 and check["top1_agree"] == 256
    assert check["max_abs_diff"] <= 1e-4 and check["source"] == "mnist test split"
    assert data["dynamic_batch"] is True and data["opset"] == 18
    model = onnx.load(str(out))
    props = {p.key: json.loads(p.value) for p in model.metadata_props}
    assert props["classes"] == [str(d) for d in range(10)] and props["model"] == "lenet5"
    assert props["input_shape"] == [1, 32, 32] and props["normalization"]["mean"] == pytest.approx([0.1307])
    assert props["source_sha256"] == data["metadata"]["source_sha256"] and len(props["source_sha256"]) == 64
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a named, dynamic batch
    # The declared order, as the model file reads: pooling, then the ReLU
    assert [n.op_type for n in model.graph.node][:6] == ["Conv", "MaxPool", "Relu", "Conv", "MaxPool", "Relu"]
    assert [p.name for p in tmp_path.iterdir()] == ["lenet5.onnx"]  # no temp files left


def test_static_batch_onnx(runner, tmp_path: Path, digit_files) -> None:
    out = tmp_path / "static.onnx"
    code, data, stderr = _export(runner, "-f", "onnx", "-o", str(out), "--static-batch", "--verify-images", "16")
    assert code == 0, stderr
    assert data["verification"]["passed"] and data["dynamic_batch"] is False
    assert onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    paths, labels = digit_files
    result = runner.invoke(app, ["predict", *map(str, paths[:3]), "-c", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["predicted"] for line in result.stdout.splitlines()] == labels[:3].tolist()


def test_torchscript_export(runner, tmp_path: Path) -> None:
    out = tmp_path / "m.torchscript.pt"
    code, data, stderr = _export(runner, "-f", "torchscript", "-o", str(out))
    assert code == 0, stderr
    assert data["verification"]["passed"] and data["verification"]["max_abs_diff"] == 0.0
    extra = {"lenet.json": ""}
    loaded = torch.jit.load(str(out), _extra_files=extra)
    assert json.loads(extra["lenet.json"])["model"] == "lenet5"
    assert loaded(torch.zeros(3, 1, 32, 32)).shape == (3, 10)


def test_safetensors_export_and_sidecar(runner, tmp_path: Path) -> None:
    from safetensors import safe_open

    out = tmp_path / "m.safetensors"
    code, data, stderr = _export(runner, "-f", "safetensors", "-o", str(out))
    assert code == 0, stderr
    sidecar = json.loads((tmp_path / "m.json").read_text())
    assert sidecar["weights"] == "m.safetensors" and sidecar["classes"][3] == "3"
    assert data["sidecar"] == str(tmp_path / "m.json")
    with safe_open(str(out), "pt") as handle:
        assert json.loads(handle.metadata()["lenet"])["model_args"]["input_size"] == 32
        reference = torch.load(BUNDLED_WEIGHTS, weights_only=True)["state_dict"]
        assert set(handle.keys()) == set(reference)
        assert all(torch.equal(handle.get_tensor(k), reference[k]) for k in reference)


def test_classic_model_round_trips_through_onnx(runner, tmp_path: Path, digit_files) -> None:
    data_dir = f"idx:{write_mnist_files(tmp_path / 'data', n_train=32, n_test=16)}"
    result = runner.invoke(app, ["train", "--dataset", data_dir, "--model", "lenet5-classic", "--epochs", "1",
                                 "--project", str(tmp_path), "--name", "run", "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    checkpoint = tmp_path / "run" / "best.pt"
    code, data, stderr = _export(runner, "-f", "onnx", "-c", str(checkpoint))
    assert code == 0, stderr
    assert data["path"] == str(tmp_path / "run" / "best.onnx")  # default: beside the checkpoint
    assert data["metadata"]["output"].startswith("negated RBF penalties")
    assert data["verification"]["images"] == 16 and data["verification"]["passed"]
    paths, _ = digit_files
    by_torch = runner.invoke(app, ["predict", *map(str, paths), "-c", str(checkpoint), "--json"])
    by_onnx = runner.invoke(app, ["predict", *map(str, paths), "-c", data["path"], "--json"])
    assert by_onnx.exit_code == 0, by_onnx.output
    torch_rows = [json.loads(line) for line in by_torch.stdout.splitlines()]
    onnx_rows = [json.loads(line) for line in by_onnx.stdout.splitlines()]
    assert [r["predicted"] for r in torch_rows] == [r["predicted"] for r in onnx_rows]
    assert max(abs(a["probability"] - b["probability"]) for a, b in zip(torch_rows, onnx_rows)) < 1e-4


@pytest.mark.parametrize("fmt", list_formats())
def test_predict_runs_every_export_format_like_the_checkpoint(runner, tmp_path: Path, digit_files, fmt: str) -> None:
    out = tmp_path / f"lenet5{get_format(fmt).suffix}"
    code, _, stderr = _export(runner, "-f", fmt, "-o", str(out))
    assert code == 0, stderr
    paths, labels = digit_files
    rows = {}
    for name, checkpoint in (("pt", BUNDLED_WEIGHTS), (fmt, out)):
        result = runner.invoke(app, ["predict", *map(str, paths), "-c", str(checkpoint), "--json"])
        assert result.exit_code == 0, result.output
        rows[name] = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["predicted"] for r in rows[fmt]] == [r["predicted"] for r in rows["pt"]]
    assert sum(r["predicted"] == int(y) for r, y in zip(rows[fmt], labels)) >= 11  # the bundled model reads them
    assert max(abs(a["probability"] - b["probability"]) for a, b in zip(rows[fmt], rows["pt"])) < 1e-4


def test_onnx_predict_does_not_import_torch(runner, tmp_path: Path, digit_files) -> None:
    out = tmp_path / "m.onnx"
    assert _export(runner, "-f", "onnx", "-o", str(out), "--verify-images", "8")[0] == 0
    paths, labels = digit_files
    stdout, imported = invoke_in_fresh_process(["predict", *map(str, paths), "-c", str(out), "--json"], ("torch",))
    assert imported == {"torch": False}
    predicted = [json.loads(line)["predicted"] for line in stdout.splitlines() if line.startswith("{")]
    assert predicted == labels.tolist()


def test_bad_inputs(runner, tmp_path: Path) -> None:
    code, _, stderr = _export(runner, "-f", "keras")
    assert code == 2 and "torchscript, onnx, safetensors" in stderr
    code, _, stderr = _export(runner, "-f", "torchscript", "--opset", "17")
    assert code == 2 and "--opset" in stderr
    code, _, stderr = _export(runner, "-f", "onnx", "--opset", "9", "-o", str(tmp_path / "x.onnx"))
    assert code == 2 and not (tmp_path / "x.onnx").exists()
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    code, _, stderr = _export(runner, "-f", "onnx", "-c", str(foreign))
    assert code == 65 and "not a lenet checkpoint (found a dict with keys ['weights'])" in stderr
    code, _, stderr = _export(runner, "-f", "onnx", "-c", str(tmp_path / "missing.pt"))
    assert code == 66
    code, _, stderr = _export(runner, "-f", "safetensors", "-o", str(tmp_path / "no" / "such" / "m.safetensors"))
    assert code == 1 and "does not exist" in stderr and not (tmp_path / "no").exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory(runner, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, stderr = _export(runner, "-f", "safetensors", "-o", str(locked / "m.safetensors"))
    finally:
        locked.chmod(0o755)
    assert code == 1 and "not writable" in stderr and not list(locked.iterdir())


def test_failed_verification_leaves_nothing(runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Safetensors.load

    def corrupted(self, path):
        loaded = real(self, path)
        return Loaded(lambda batch: loaded.run(batch) + 0.01, loaded.metadata)

    monkeypatch.setattr(Safetensors, "load", corrupted)
    code, _, stderr = _export(runner, "-f", "safetensors", "-o", str(tmp_path / "m.safetensors"))
    assert code == 1 and "failed verification" in stderr and "nothing was written" in stderr
    assert list(tmp_path.iterdir()) == []


def test_without_onnx_tools_the_install_command_is_given(runner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import fails as if not installed
    code, _, stderr = _export(runner, "-f", "onnx", "-o", str(tmp_path / "m.onnx"))
    assert code == 1 and "pip install 'lenet-cli[onnx]'" in stderr
    assert list(tmp_path.iterdir()) == []


def test_onnx_files_not_from_lenet_are_refused(runner, tmp_path: Path, digit_files) -> None:
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["scores"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 10])],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 10])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    onnx.save(model, str(tmp_path / "other.onnx"))
    (tmp_path / "garbage.onnx").write_bytes(b"\x00garbage")
    image = str(digit_files[0][0])
    result = runner.invoke(app, ["predict", image, "-c", str(tmp_path / "other.onnx")])
    assert result.exit_code == 1 and "not one written by `lenet export`" in result.stderr
    result = runner.invoke(app, ["predict", image, "-c", str(tmp_path / "garbage.onnx")])
    assert result.exit_code == 65 and "not a readable ONNX model" in result.stderr
    result = runner.invoke(app, ["inspect", image, "-c", str(tmp_path / "other.onnx")])
    assert result.exit_code == 2


def test_torchscript_and_safetensors_files_not_from_lenet_are_refused(runner, tmp_path: Path, digit_files) -> None:
    from safetensors.torch import save_file

    save_file({"weight": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(tmp_path / "other.torchscript.pt"))
    image = str(digit_files[0][0])
    for name in ("other.safetensors", "other.torchscript.pt"):
        result = runner.invoke(app, ["predict", image, "-c", str(tmp_path / name)])
        assert result.exit_code == 1 and "not one written by `lenet export`" in result.stderr, result.output
        garbage = tmp_path / f"garbage-{name}"
        garbage.write_bytes(b"\x00garbage")
        result = runner.invoke(app, ["predict", image, "-c", str(garbage)])
        assert result.exit_code == 65 and "not a readable" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("damage", ["wrong-input-shape", "not-json", "missing-classes"])
def test_onnx_files_with_damaged_lenet_metadata_are_bad_input(runner, tmp_path: Path, digit_files, damage: str) -> None:
    from onnx import TensorProto, helper

    shape = [1, 10] if damage == "wrong-input-shape" else [1, 1, 32, 32]
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["scores"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    metadata = {"format": "lenet-export", "model": "lenet5", "classes": [str(i) for i in range(10)],
                "input_shape": [1, 32, 32], "normalization": {"mean": [0.1], "std": [0.3], "input_size": 32,
                                                              "channels": 1}}
    if damage == "missing-classes":
        del metadata["classes"]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value) if not (damage == "not-json" and key == "classes") else "[0, 1"
    onnx.save(model, str(tmp_path / "damaged.onnx"))
    result = runner.invoke(app, ["predict", str(digit_files[0][0]), "-c", str(tmp_path / "damaged.onnx")])
    assert result.exit_code == 65 and result.stderr.count("\n") == 1, result.output


def test_benchmark_times_each_runtime_and_scores_it_on_the_whole_test_split(runner) -> None:
    from lenet_cli.checkpoint import load_checkpoint
    from lenet_cli.inference.loading import BUNDLED_WEIGHTS

    result = runner.invoke(app, ["benchmark", "-f", "pytorch", "-f", "onnx", "-b", "1", "-b", "16",
                                 "--images", "64", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["test_images"] == 10_000 and document["timed_images"] == 64 and document["dataset"] == "mnist"
    rows = document["rows"]
    assert [(r["format"], r["batch"], r["status"]) for r in rows] == [
        ("pytorch", 1, "ok"), ("pytorch", 16, "ok"), ("onnx", 1, "ok"), ("onnx", 16, "ok")]
    recorded = load_checkpoint(BUNDLED_WEIGHTS)["metrics"]["test_acc"]
    assert all(abs(r["test_accuracy"] - recorded) <= 2e-4 for r in rows), rows  # the verified export agrees
    assert all(r["images_per_s"] > 0 and r["ms_per_image"] == pytest.approx(1000 / r["images_per_s"], rel=0.01)
               for r in rows)
    assert {r["runtime"] for r in rows} == {"PyTorch", "onnxruntime"}


def test_benchmark_skips_a_format_whose_packages_are_missing(runner, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    result = runner.invoke(app, ["benchmark", "-f", "onnx", "-b", "4", "--images", "8"])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.stdout and "onnxscript" in result.stdout and "lenet-cli[onnx]" in result.stdout
    result = runner.invoke(app, ["benchmark", "-f", "tensorflow"])
    assert result.exit_code == 2 and "pytorch, torchscript, onnx, safetensors" in result.stderr
