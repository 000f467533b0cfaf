from __future__ import annotations

import pytest
import torch

from lenet_cli.errors import UsageError
from lenet_cli.models import ModelSpec, get_model, get_model_spec, list_models, register_model
from lenet_cli.models import registry


def test_lists_the_foundation_models() -> None:
    assert {"lenet5", "lenet5-d2l"} <= set(list_models())
    assert list_models("lenet5-d*") == ["lenet5-d2l"]
    assert list_models()[:2] == ["lenet5", "lenet5-d2l"]  # declaration order, the modern model first


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
    monkeypatch.setattr(registry.MODELS, "_items", dict(registry.MODELS._items))
    spec = get_model_spec("lenet5")
    with pytest.raises(ValueError, match="already registered"):
        register_model(spec)
    register_model(ModelSpec(**{**spec.__dict__, "name": "lenet5-copy"}))
    assert "lenet5-copy" in list_models()


def _registries() -> list:
    from lenet_cli.data.specs import DATASETS
    from lenet_cli.export import FORMATS

    return [registry.MODELS, DATASETS, FORMATS]


@pytest.mark.parametrize("index", range(3), ids=["models", "datasets", "export formats"])
def test_every_registry_follows_one_idiom(index: int) -> None:
    """Models, datasets and export formats: a duplicate raises, an unknown name is exit 2 with the nearest
    name and the valid ones, and the listing is the declaration order."""
    names = _registries()[index]
    first = names.names()[0]
    with pytest.raises(ValueError, match="already registered"):
        names.register(first, names[first])
    with pytest.raises(UsageError) as info:
        names[first + "x"]
    assert info.value.exit_code == 2 and f"did you mean {first!r}" in str(info.value)
    assert str(info.value).endswith(", ".join([*names.names(), *names.also_accepted]))
    assert names.names() == list(names._items) and names.names(first) == [first]


def test_too_small_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="too small"):
        get_model("lenet5", input_size=12)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_lenet5_pooling_before_relu_gives_the_numbers_of_relu_before_pooling(layout: torch.memory_format) -> None:
    """The declared order (conv, max-pool, ReLU) and the tutorials' (conv, ReLU, max-pool) give bit-identical
    outputs and gradients on the same weights, in either memory layout."""
    torch.manual_seed(0)
    model = get_model("lenet5").to(memory_format=layout)
    c1, s2, relu1, c3, s4, relu3 = model.features
    assert isinstance(s2, torch.nn.MaxPool2d) and isinstance(relu1, torch.nn.ReLU)
    tutorial_order = torch.nn.Sequential(c1, relu1, s2, c3, relu3, s4)
    images, labels = torch.randn(32, 1, 32, 32).contiguous(memory_format=layout), torch.randint(0, 10, (32,))
    results = []
    for features in (model.features, tutorial_order):
        model.zero_grad()
        out = model.classifier(torch.flatten(features(images), 1))
        torch.nn.functional.cross_entropy(out, labels).backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    (out_a, grads_a), (out_b, grads_b) = results
    assert torch.equal(out_a, out_b)
    assert all(torch.equal(a, b) for a, b in zip(grads_a, grads_b))


def test_the_d2l_lenet_squashes_before_pooling_as_its_book_does() -> None:
    """Sigmoid and average pooling do not commute, so the d2l variant keeps the book's order."""
    kinds = [type(layer).__name__ for layer in get_model("lenet5-d2l").features]
    assert kinds == ["Conv2d", "Sigmoid", "AvgPool2d", "Conv2d", "Sigmoid", "AvgPool2d"]
    kinds = [type(layer).__name__ for layer in get_model("lenet5").features]
    assert kinds == ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "MaxPool2d", "ReLU"]


def test_the_lenet5_forward_is_plain() -> None:
    """The model file teaches: forward has no branch on layout, hooks, tracing or export."""
    import ast
    import inspect
    import textwrap

    from lenet_cli.models.lenet5 import LeNet5

    tree = ast.parse(textwrap.dedent(inspect.getsource(LeNet5.forward)))
    assert not [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, (ast.If, ast.IfExp, ast.BoolOp))]
    assert len(tree.body[0].body) <= 5
