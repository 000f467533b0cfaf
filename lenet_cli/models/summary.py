"""A per-layer table of a model: output shapes and parameter counts that add up.

torchsummary counts only ``.weight`` and ``.bias`` of each layer, so custom
layers with other parameters would be missed. We count every parameter a
module owns directly and report torchsummary's total beside ours.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = ["LayerRow", "Summary", "compare_with_paper", "count_connections", "summarize"]


@dataclass
class LayerRow:
    name: str  # dotted module path, e.g. "features.0"
    kind: str  # class name, e.g. "Conv2d"
    output_shape: list[int]  # without the batch dimension
    params: int
    trainable: int
    connections: int  # input-to-output links, the paper's measure of compute


@dataclass
class Summary:
    """A model's layers (``rows``: output shape, parameters, connections) and their totals, which add up."""

    model: str
    input_shape: list[int]
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0  # the model's own count: sum of p.numel() over parameters()
    trainable_params: int = 0
    connections: int = 0
    torchsummary_params: int | None = None  # what torchsummary reports, for comparison
    paper: dict[str, Any] | None = None  # ``compare_with_paper``'s layers and totals, when asked for

    @property
    def counts_agree(self) -> bool:
        return sum(r.params for r in self.rows) == self.total_params

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        paper = data.pop("paper")
        data["counts_agree"] = self.counts_agree
        return data if paper is None else {**data, "paper": paper}

    def _repr_html_(self) -> str:
        from ..display import table_html, titled

        rows = [(r.name, r.kind, "x".join(map(str, r.output_shape)), f"{r.params:,}", f"{r.connections:,}")
                for r in self.rows]
        rows.append(("total", "", "", f"{self.total_params:,}", f"{self.connections:,}"))
        shape = "x".join(map(str, self.input_shape))
        return titled(f"{self.model}, input {shape}: {self.total_params:,} parameters "
                      f"({self.trainable_params:,} trainable)",
                      table_html(["layer", "type", "output shape", "parameters", "connections"], rows,
                                 numeric=[2, 3, 4], bold_rows=[len(rows) - 1]))


def count_connections(module: nn.Module, output_shape: list[int]) -> int:
    """Connections as the paper counts them: each output unit's weights plus its bias.

    Convolutions repeat their weights at every output position; activations
    are part of the units, so they add none. Custom layers say for themselves.
    """
    if hasattr(module, "connections"):
        return int(module.connections(output_shape))
    own = sum(p.numel() for p in module.parameters(recurse=False))
    if isinstance(module, nn.Conv2d):
        return math.prod(output_shape[1:]) * own
    if isinstance(module, nn.Linear):
        return math.prod(output_shape[:-1]) * own
    if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)):
        size = module.kernel_size
        return math.prod(output_shape) * (size * size if isinstance(size, int) else math.prod(size))
    return 0


def compare_with_paper(report: Summary, figures: Any) -> dict[str, Any]:
    """Our per-layer counts beside the paper's (``figures`` is a registry ``PaperFigures``)."""
    by_name = {row.name: row for row in report.rows}
    layers = []
    for module, label, params, connections in figures.layers:
        row = by_name.get(module)
        ours_p, ours_c = (row.params, row.connections) if row else (None, None)
        layers.append({"layer": label, "module": module, "output_shape": row.output_shape if row else None,
                       "params": ours_p, "paper_params": params,
                       "connections": ours_c, "paper_connections": connections,
                       "match": ours_p == params and ours_c == connections})
    exact = not figures.approximate
    return {
        "section": figures.section, "paper_test_error": figures.test_error, "approximate": figures.approximate,
        "layers": layers,
        "params": report.total_params, "paper_params": figures.params,
        "connections": report.connections, "paper_connections": figures.connections,
        "match": exact and all(layer["match"] for layer in layers)
        and report.total_params == figures.params and report.connections == figures.connections,
    }


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


def summarize(model: nn.Module, input_shape: tuple[int, int, int], name: str = "") -> Summary:
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
                    connections=count_connections(module, shape),
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

    report = Summary(model=name, input_shape=list(input_shape), rows=rows)
    report.total_params = sum(p.numel() for p in model.parameters())
    report.trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    # Parameters the root module owns directly never pass through a hook.
    root_params = sum(p.numel() for p in model.parameters(recurse=False))
    if root_params:
        rows.append(LayerRow("(root)", type(model).__name__, [], root_params, root_params, 0))
    report.connections = sum(r.connections for r in rows)
    report.torchsummary_params = _torchsummary_total(model, input_shape)
    return report
