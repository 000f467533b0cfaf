"""The 1998 LeNet family: layers as the paper defines them, counts as it reports them, its losses."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from conftest import write_mnist_files
from lenet_cli.cli.app import app
from lenet_cli.data.preprocess import Normalization, to_model_input
from lenet_cli.models import get_model, get_model_spec, list_models
from lenet_cli.models.classic import (
    C3_TABLE, EQ9_J, SparseConv2d, Subsampling, prototypes, rbf_loss, squash,
)
from lenet_cli.models.summary import compare_with_paper, summarize


def test_squashing_function_is_appendix_a() -> None:
    x = torch.tensor([-1.0, 0.0, 1.0, 100.0])
    assert torch.allclose(squash(x), torch.tensor([-1.0, 0.0, 1.0, 1.7159]), atol=1e-4)


def test_c3_follows_table_one() -> None:
    sizes = [len(inputs) for inputs in C3_TABLE]
    assert sizes == [3] * 6 + [4] * 9 + [6]

    def adjacent(inputs: tuple[int, ...]) -> bool:  # consecutive maps, wrapping around
        return any(set(inputs) == {(s + k) % 6 for k in range(len(inputs))} for s in range(6))

    assert all(adjacent(t) for t in C3_TABLE[:12]) and not any(adjacent(t) for t in C3_TABLE[12:15])
    assert len(set(map(frozenset, C3_TABLE))) == 16
    layer = SparseConv2d(6, C3_TABLE)
    assert sum(p.numel() for p in layer.parameters()) == 1_516


def test_sparse_convolution_is_a_masked_dense_convolution() -> None:
    torch.manual_seed(0)
    layer = SparseConv2d(6, C3_TABLE)
    x = torch.randn(2, 6, 14, 14)
    dense = layer.dense_weight()
    for out, inputs in enumerate(C3_TABLE):
        unconnected = [i for i in range(6) if i not in inputs]
        assert torch.count_nonzero(dense[out, unconnected]) == 0
        assert torch.count_nonzero(dense[out, list(inputs)]) == len(inputs) * 25
    assert torch.allclose(layer(x), F.conv2d(x, dense, layer.bias), atol=1e-6)
    # Changing an unconnected input map must not change that output map.
    y = x.clone()
    y[:, 3] += 5.0
    untouched = [out for out, inputs in enumerate(C3_TABLE) if 3 not in inputs]
    assert torch.allclose(layer(x)[:, untouched], layer(y)[:, untouched], atol=1e-6)


def test_subsampling_is_a_trainable_scaled_sum() -> None:
    layer = Subsampling(2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.5, -2.0]))
        layer.bias.copy_(torch.tensor([1.0, 0.25]))
    x = torch.arange(2 * 4 * 4, dtype=torch.float32).view(1, 2, 4, 4)
    block = x[0, :, :2, :2].sum(dim=(1, 2))
    assert torch.allclose(layer(x)[0, :, 0, 0], block * layer.weight + layer.bias)
    assert layer(x).shape == (1, 2, 2, 2)


def test_rbf_prototypes_are_distinct_plus_minus_one_bitmaps() -> None:
    codes = prototypes(10)
    assert codes.shape == (10, 84) and set(codes.unique().tolist()) == {-1.0, 1.0}
    assert min(int((codes[i] != codes[j]).sum()) for i, j in itertools.combinations(range(10), 2)) >= 5  # look-alikes (8, 9) share most pixels, as in the paper
    assert torch.equal(prototypes(26), prototypes(26)) and prototypes(26).shape == (26, 84)


def test_classic_output_is_the_negated_rbf_penalty_and_predicts_the_nearest_prototype() -> None:
    torch.manual_seed(0)
    model = get_model("lenet5-classic").eval()
    captured = {}
    model.f6.register_forward_hook(lambda m, i, o: captured.update(f6=squash(o)))  # returns None: output kept
    scores = model(torch.randn(4, 1, 32, 32))
    penalties = ((captured["f6"][:, None, :] - prototypes(10)) ** 2).sum(-1)
    assert torch.allclose(scores, -penalties, atol=1e-4)
    assert torch.equal(scores.argmax(1), penalties.argmin(1))


def test_paper_losses() -> None:
    scores = -torch.tensor([[1.0, 4.0, 9.0], [2.0, 0.5, 3.0]])  # penalties y_i
    target = torch.tensor([0, 1])
    penalties = -scores
    by_hand = torch.stack([penalties[n, target[n]] + torch.log(torch.exp(torch.tensor(-EQ9_J))
                                                                + torch.exp(-penalties[n]).sum()) for n in range(2)])
    assert torch.allclose(rbf_loss(scores, target, "eq9"), by_hand.mean())
    assert torch.allclose(rbf_loss(scores, target, "mse"), torch.tensor((1.0 + 0.5) / 2))


@pytest.mark.parametrize("name", ["lenet5-classic", "lenet1", "lenet4"])
def test_weights_start_uniform_within_2_4_over_fan_in(name: str) -> None:
    model = get_model(name)
    assert abs(model.c1.weight).max() <= 2.4 / 25 + 1e-7
    assert abs(model.c1.weight).max() > 2.4 / 25 * 0.9  # uniform over the whole range, not a tiny init
    if name == "lenet5-classic":
        assert abs(model.c5.weight).max() <= 2.4 / (16 * 25) + 1e-7
        assert abs(model.f6.weight).max() <= 2.4 / 120 + 1e-7
        assert abs(model.c3.weight[:3]).max() <= 2.4 / 75 + 1e-7  # C3 map 0 reads 3 maps


def test_paper_input_range_and_lenet1_digit_size() -> None:
    norm = Normalization.from_range(-0.1, 1.175, 32, 1)
    image = torch.zeros(1, 1, 28, 28, dtype=torch.uint8)
    image[0, 0, 10:18, 10:18] = 255
    x = to_model_input(image, norm)
    assert x.shape == (1, 1, 32, 32)
    assert torch.isclose(x.min(), torch.tensor(-0.1)) and torch.isclose(x.max(), torch.tensor(1.175))
    spec = get_model_spec("lenet1")
    shrunk = to_model_input(torch.full((1, 1, 28, 28), 255, dtype=torch.uint8),
                            Normalization.from_range(*spec.input_range, 28, 1, spec.content_scale))
    ink = shrunk[0, 0] > 0.5
    assert int(ink.any(0).sum()) == 22 and int(ink.any(1).sum()) == 22  # 28 x 0.8, centred
    assert bool(ink[3:25, 3:25].all())


def test_summary_matches_the_paper_layer_by_layer() -> None:
    spec = get_model_spec("lenet5-classic")
    report = summarize(get_model("lenet5-classic"), spec.input_shape, "lenet5-classic")
    comparison = compare_with_paper(report, spec.paper)
    assert comparison["match"], comparison
    assert (report.total_params, report.connections) == (60_000, 340_908)
    assert report.torchsummary_params == 60_000  # custom layers name their parameters weight/bias


def test_summary_paper_command(runner) -> None:
    result = runner.invoke(app, ["summary", "--model", "lenet5-classic", "--paper"])
    assert result.exit_code == 0, result.output
    assert "340,908" in result.stdout and "151,600" in result.stdout and "differs" not in result.stdout
    result = runner.invoke(app, ["summary", "--model", "lenet5-classic", "--paper", "--json"])
    data = json.loads(result.stdout)
    assert data["paper"]["match"] is True
    assert [layer["layer"] for layer in data["paper"]["layers"]] == ["C1", "S2", "C3", "S4", "C5", "F6", "OUTPUT"]
    result = runner.invoke(app, ["summary", "--model", "lenet1", "--paper", "--json"])
    data = json.loads(result.stdout)
    assert data["paper"]["approximate"] and data["total_params"] == 2_678
    result = runner.invoke(app, ["summary", "--model", "lenet5", "--paper"])
    assert result.exit_code == 2 and "lenet5-classic" in result.stderr
    result = runner.invoke(app, ["summary", "--model", "lenet5-classic", "--paper", "--num-classes", "26"])
    assert result.exit_code == 2


def test_registry_holds_the_family() -> None:
    assert {"lenet1", "lenet4", "lenet5", "lenet5-avgpool", "lenet5-classic", "lenet5-d2l"} <= set(list_models())
    assert all(get_model_spec(n).paper.section for n in ("lenet1", "lenet4", "lenet5-classic"))


@pytest.mark.parametrize("model,loss", [("lenet5-classic", "auto"), ("lenet5-classic", "mse"), ("lenet1", "auto")])
def test_paper_models_train_evaluate_and_predict(runner, tmp_path: Path, model: str, loss: str) -> None:
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=64, n_test=32)}"
    result = runner.invoke(app, ["train", "--dataset", data, "--model", model, "--loss", loss, "--epochs", "1",
                                 "--project", str(tmp_path), "--name", "run", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    checkpoint = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    resolved = {"auto": "eq9" if model == "lenet5-classic" else "cross-entropy"}.get(loss, loss)
    assert checkpoint["config"]["loss"] == loss and checkpoint["loss"] == resolved
    assert checkpoint["normalization"]["mean"][0] == pytest.approx(0.1 / 1.275)  # pixel 0 -> -0.1
    history = json.loads((tmp_path / "run" / "run.json").read_text())["history"]
    assert math.isfinite(history[0]["train_loss"]) and math.isfinite(history[0]["test_loss"])
    result = runner.invoke(app, ["eval", "--checkpoint", str(tmp_path / "run" / "last.pt"), "--dataset", data, "--json"])
    assert result.exit_code == 0, result.output
    stroke = np.full((28, 28), 255, np.uint8)
    stroke[5:23, 12:16] = 0  # a "1": some writing, so the answer is a class (a blank page is "no digit")
    Image.fromarray(stroke).save(tmp_path / "one.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "one.png"), "-c", str(tmp_path / "run" / "last.pt"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["class_name"] in [str(d) for d in range(10)]


def test_rbf_loss_on_a_linear_output_is_a_usage_error(runner, tmp_path: Path) -> None:
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=16, n_test=8)}"
    result = runner.invoke(app, ["train", "--dataset", data, "--model", "lenet5", "--loss", "eq9", "--epochs", "1",
                                 "--project", str(tmp_path)])
    assert result.exit_code == 2 and "supports: cross-entropy" in result.stderr
    result = runner.invoke(app, ["train", "--dataset", data, "--loss", "hinge", "--project", str(tmp_path)])
    assert result.exit_code == 2
