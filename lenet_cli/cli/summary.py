"""``lenet summary``: the layer table of a model, with parameter totals that are checked."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .console import err, new_table, out, print_json
from .options import JsonOption, ModelOption


def summary_command(
    model: ModelOption = "lenet5",
    input_size: Annotated[
        Optional[tuple[int, int, int]],
        typer.Option("--input-size", metavar="C H W", help="Input channels, height and width (square images)."),
    ] = None,
    num_classes: Annotated[Optional[int], typer.Option("--num-classes", min=1, help="Number of outputs.")] = None,
    paper: Annotated[bool, typer.Option("--paper", help="Set each layer beside the 1998 paper's figures.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show each layer's output shape, parameters and connections (computed on CPU), and the totals."""
    from ..api.model import summary

    report = summary(model, input_size=input_size, num_classes=num_classes, paper=paper)
    comparison = report.paper
    channels, height, width = report.input_shape
    if as_json:
        print_json(report.to_dict())
        return
    console = out()
    if comparison and comparison["layers"]:
        console.print(_paper_table(model, comparison))
    else:
        console.print(_layer_table(f"{model}  input {channels}x{height}x{width}", report))
    if comparison:
        about = "about " if comparison["approximate"] else ""
        console.print(f"Paper (section {comparison['section']}): {about}{comparison['paper_params']:,} parameters, "
                      f"{about}{comparison['paper_connections']:,} connections, "
                      f"{comparison['paper_test_error']} % MNIST test error")
    console.print(f"Total params: {report.total_params:,}")
    console.print(f"Trainable params: {report.trainable_params:,}")
    console.print(f"Non-trainable params: {report.total_params - report.trainable_params:,}")
    console.print(f"Connections: {report.connections:,}")
    if not report.counts_agree:
        err().print("warning: the layer rows do not add up to the model's parameter count", style="yellow")
    if report.torchsummary_params is not None and report.torchsummary_params != report.total_params:
        err().print(
            f"note: torchsummary counts {report.torchsummary_params:,} parameters; it misses parameters "
            "other than .weight/.bias, the total above counts every one",
            style="yellow",
        )


def _layer_table(title: str, report):
    """One row per layer: type, output shape, parameters and connections."""
    table = new_table(title=title)
    for column in ("layer", "type"):
        table.add_column(column)
    for column in ("output shape", "parameters", "connections"):
        table.add_column(column, justify="right")
    for row in report.rows:
        table.add_row(row.name, row.kind, str(row.output_shape), f"{row.params:,}", f"{row.connections:,}")
    return table


def _paper_table(model: str, comparison: dict):
    """One row per paper layer: our counts, the paper's, and whether they agree."""
    table = new_table(title=f"{model} vs LeCun et al. 1998, section {comparison['section']}")
    table.add_column("layer")
    for column in ("output shape", "params", "paper", "connections", "paper", ""):
        table.add_column(column, justify="right")

    def mark(ok: bool) -> str:
        return "[green]=[/]" if ok else "[red]differs[/]"

    for layer in comparison["layers"]:
        table.add_row(layer["layer"], str(layer["output_shape"]), f"{layer['params']:,}", f"{layer['paper_params']:,}",
                      f"{layer['connections']:,}", f"{layer['paper_connections']:,}", mark(layer["match"]))
    totals_match = (comparison["params"] == comparison["paper_params"]
                    and comparison["connections"] == comparison["paper_connections"])
    table.add_row("total", "", f"{comparison['params']:,}", f"{comparison['paper_params']:,}",
                  f"{comparison['connections']:,}", f"{comparison['paper_connections']:,}", mark(totals_match),
                  style="bold")
    return table
