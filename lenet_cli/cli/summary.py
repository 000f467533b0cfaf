"""``lenet summary``: the layer table of a model, with parameter totals that are checked."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import UsageError
from ..models import get_model, get_model_spec
from .app import app
from .console import err, out, print_json


@app.command("summary")
def summary_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Registered model name (see `lenet models`).")] = "lenet5",
    input_size: Annotated[
        Optional[tuple[int, int, int]],
        typer.Option("--input-size", metavar="C H W", help="Input channels, height and width (square images)."),
    ] = None,
    num_classes: Annotated[Optional[int], typer.Option("--num-classes", min=1, help="Number of outputs.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Show each layer's output shape and parameters (computed on CPU), and the totals."""
    from ..models.summary import summarize

    spec = get_model_spec(model)
    channels, height, width = input_size or spec.input_shape
    if height != width:
        raise UsageError(f"--input-size needs square images, got {height}x{width}")
    if min(channels, height) < 1:
        raise UsageError("--input-size values must be positive")
    try:
        network = get_model(model, in_channels=channels, num_classes=num_classes, input_size=height)
    except ValueError as exc:  # e.g. an input too small for the network
        raise UsageError(str(exc)) from None
    report = summarize(network, (channels, height, width), name=model)
    if as_json:
        print_json(report.to_dict())
        return
    table = Table(title=f"{model}  input {channels}x{height}x{width}")
    table.add_column("layer")
    table.add_column("type")
    table.add_column("output shape", justify="right")
    table.add_column("parameters", justify="right")
    for row in report.rows:
        table.add_row(row.name, row.kind, str(row.output_shape), f"{row.params:,}")
    console = out()
    console.print(table)
    console.print(f"Total params: {report.total_params:,}")
    console.print(f"Trainable params: {report.trainable_params:,}")
    console.print(f"Non-trainable params: {report.total_params - report.trainable_params:,}")
    if not report.counts_agree:
        err().print("warning: the layer rows do not add up to the model's parameter count", style="yellow")
    if report.torchsummary_params is not None and report.torchsummary_params != report.total_params:
        err().print(
            f"note: torchsummary counts {report.torchsummary_params:,} parameters; it misses parameters "
            "other than .weight/.bias, the total above counts every one",
            style="yellow",
        )
