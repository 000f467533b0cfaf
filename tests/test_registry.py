from __future__ import annotations

import pytest
import torch

from lenet_cli.errors import UsageError
from lenet_cli.models import ModelSpec, get_model, get_model_spec, list_models, register_model
from lenet_cli.models import registry


def test_lists_the_foundation_models() -> None:
    assert {"lenet5", "lenet5-d2l"} <= set(list_models())
    assert list_models("lenet5-d*") == ["lenet5-d2l"]
    assert list_models() == sorted(list_models())


@pytest.mark.parametrize("name", list_models())
def test_declared_metadata_matches_the_built_model(name: str) -> None:
    spec = get_model_spec(name)
    model = get_model(name)
    assert sum(p.numel() for p in model.parameters()) == spec.num_params
    out = model(torch.zeros(2, *spec.input_shape))
    assert out.shape == (2, spec.num_classes)


def test_lenet5_has_the_textbook_parameter_count() -> None:
    assert sum(p.numel() for p in get_model("lenet5").parameters()) == 61_706


@pytest.mark.parametrize("name", list_models())
def test_channels_and_classes_are_arguments(name: str) -> None:
    size = get_model_spec(name).input_shape[1]
    model = get_model(name, in_channels=3, num_classes=26)
    assert model(torch.zeros(1, 3, size, size)).shape == (1, 26)


def test_options_left_unset_do_not_override_builder_defaults() -> None:
    model = get_model("lenet5", num_classes=None, in_channels=None)
    assert model(torch.zeros(1, 1, 32, 32)).shape == (1, 10)


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError) as info:
        get_model("lenet9")
    assert info.value.exit_code == 2
    assert "lenet5" in str(info.value) and "lenet5-d2l" in str(info.value)


def test_duplicate_registration_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    spec = get_model_spec("lenet5")
    with pytest.raises(ValueError, match="already registered"):
        register_model(spec)
    register_model(ModelSpec(**{**spec.__dict__, "name": "lenet5-copy"}))
    assert "lenet5-copy" in list_models()


def test_too_small_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="too small"):
        get_model("lenet5", input_size=12)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_lenet5_pools_before_relu_with_the_same_numbers(layout: torch.memory_format, monkeypatch) -> None:
    """The faster order (max-pool, then ReLU) gives bit-identical outputs, gradients and evaluation outputs,
    in either memory layout (row-major is made to take it here)."""
    torch.manual_seed(0)
    model = get_model("lenet5").to(memory_format=layout).train()
    monkeypatch.setattr(model, "_channels_last", lambda: True)
    images, labels = torch.randn(32, 1, 32, 32).contiguous(memory_format=layout), torch.randint(0, 10, (32,))
    results = []
    for pools_first in (True, False):
        model.pools_first = pools_first
        model.zero_grad()
        out = model.train()(images)
        torch.nn.functional.cross_entropy(out, labels).backward()
        with torch.no_grad():
            evaluated = model.eval()(images)
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()], evaluated))
    (out_a, grads_a, eval_a), (out_b, grads_b, eval_b) = results
    assert torch.equal(out_a, out_b) and torch.equal(eval_a, eval_b)
    assert all(torch.equal(a, b) for a, b in zip(grads_a, grads_b))
    assert not get_model("lenet5-d2l").pools_first  # sigmoid and average pooling do not commute


def test_lenet5_pools_first_in_channels_last_layout_unless_watched(monkeypatch) -> None:
    """Unwatched and in channels-last layout, training and evaluation take the pooled-first path;
    row-major layout, a hook or a trace get the declared order."""
    model, images = get_model("lenet5"), torch.randn(2, 1, 32, 32)
    pooled_first = []
    original = model._features_pooled_first
    monkeypatch.setattr(model, "_features_pooled_first", lambda x: pooled_first.append(1) or original(x))
    model.train()(images)
    model.eval()(images)
    assert not pooled_first  # row-major layout keeps the declared order
    model.to(memory_format=torch.channels_last)
    model.train()(images)
    model.eval()(images)
    assert len(pooled_first) == 2
    torch.jit.trace(model, images, check_trace=False)
    assert len(pooled_first) == 2

    seen = []  # with a hook, the first ReLU sees C1's 28x28 maps, in training as in evaluation
    handle = model.features[1].register_forward_hook(lambda module, inputs, output: seen.append(output.shape[-1]))
    model.train()(images)
    model.eval()(images)
    assert seen == [28, 28] and len(pooled_first) == 2
    handle.remove()
    model.eval()(images)
    assert len(pooled_first) == 3
