"""A per-layer table of a model: output shapes and parameter counts that add up.

torchsummary counts only ``.weight`` and ``.bias`` of each layer, so custom
layers with other parameters would be missed. We count every parameter a
module owns directly and report torchsummary's total beside ours.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = ["LayerRow", "ModelSummary", "summarize"]


@dataclass
class LayerRow:
    name: str  # dotted module path, e.g. "features.0"
    kind: str  # class name, e.g. "Conv2d"
    output_shape: list[int]  # without the batch dimension
    params: int
    trainable: int


@dataclass
class ModelSummary:
    model: str
    input_shape: list[int]
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0  # the model's own count: sum of p.numel() over parameters()
    trainable_params: int = 0
    torchsummary_params: int | None = None  # what torchsummary reports, for comparison

    @property
    def counts_agree(self) -> bool:
        return sum(r.params for r in self.rows) == self.total_params

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["counts_agree"] = self.counts_agree
        return data


def _torchsummary_total(model: nn.Module, input_shape: tuple[int, int, int]) -> int | None:
    """Total parameters as torchsummary reports them (it prints, so capture stdout)."""
    try:
        from torchsummary import summary as ts_summary
    except ImportError:  # optional cross-check only
        return None
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        ts_summary(model, tuple(input_shape), device="cpu")  # its default is cuda
    match = re.search(r"Total params: ([\d,]+)", buffer.getvalue())
    return int(match.group(1).replace(",", "")) if match else None


def summarize(model: nn.Module, input_shape: tuple[int, int, int], name: str = "") -> ModelSummary:
    """Run one CPU forward pass on zeros and record every parameter-owning or leaf layer."""
    model = model.to("cpu").eval()
    rows: list[LayerRow] = []
    hooks = []

    def make_hook(module_name: str, module: nn.Module):
        def hook(_mod: nn.Module, _inp: Any, out: Any) -> None:
            shape = list(out.shape[1:]) if isinstance(out, torch.Tensor) else []
            own = list(module.parameters(recurse=False))
            rows.append(
                LayerRow(
                    name=module_name,
                    kind=type(module).__name__,
                    output_shape=shape,
                    params=sum(p.numel() for p in own),
                    trainable=sum(p.numel() for p in own if p.requires_grad),
                )
            )

        return hook

    for module_name, module in model.named_modules():
        is_leaf = not any(True for _ in module.children())
        owns_params = any(True for _ in module.parameters(recurse=False))
        if module_name and (is_leaf or owns_params):
            hooks.append(module.register_forward_hook(make_hook(module_name, module)))
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in hooks:
            h.remove()

    report = ModelSummary(model=name, input_shape=list(input_shape), rows=rows)
    report.total_params = sum(p.numel() for p in model.parameters())
    report.trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    # Parameters the root module owns directly never pass through a hook.
    root_params = sum(p.numel() for p in model.parameters(recurse=False))
    if root_params:
        rows.append(LayerRow("(root)", type(model).__name__, [], root_params, root_params))
    report.torchsummary_params = _torchsummary_total(model, input_shape)
    return report
