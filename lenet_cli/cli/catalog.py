"""``lenet models`` and ``lenet datasets``: what the registry and the factory offer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InputNotFound, did_you_mean
from .console import new_table, out, print_json
from .options import JsonOption


def models_command(
    pattern: Annotated[Optional[str], typer.Argument(help="Only names matching this glob, e.g. 'lenet5*'.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the registered models with their input shape and parameter count."""
    from ..models import get_model_spec, list_models

    specs = [get_model_spec(name) for name in list_models(pattern)]
    if pattern and not specs:
        raise InputNotFound(f"No model matches {pattern!r}{did_you_mean(pattern, list_models())}; "
                            f"`lenet models` lists them all")
    if as_json:
        print_json([spec.to_dict() for spec in specs])
        return
    table = new_table(title="Models")
    for column in ("name", "input (C,H,W)", "classes", "parameters", "description"):
        table.add_column(column, justify="right" if column in ("classes", "parameters") else "left")
    for spec in specs:
        shape = "x".join(str(d) for d in spec.input_shape)
        table.add_row(spec.name, shape, str(spec.num_classes), f"{spec.num_params:,}", spec.description)
    out().print(table)


def datasets_command(
    pattern: Annotated[Optional[str], typer.Argument(help="Only names matching this glob, e.g. 'emnist*'.")] = None,
    data_dir: Annotated[
        Optional[Path], typer.Option("--data-dir", help="Look here first (also $LENET_DATA_DIR).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the datasets: classes, image shape, and where each would be loaded from right now."""
    from ..data import DATASETS, locate

    specs = [DATASETS[name] for name in DATASETS.names(pattern)]
    if pattern and not specs:
        raise InputNotFound(f"No dataset matches {pattern!r}{did_you_mean(pattern, DATASETS)}; "
                            f"`lenet datasets` lists them all")
    found = [(spec, locate(spec, data_dir=data_dir)) for spec in specs]
    if as_json:
        print_json([{**spec.to_dict(), "source": location.kind, "path": str(location.path) if location.path else None}
                    for spec, location in found])
        return
    table = new_table(title="Datasets", caption="Also: idx:DIR (MNIST-format files) and folder:DIR (DIR/train/<class>/...)")
    for column in ("name", "classes", "shape", "available from", "title"):
        table.add_column(column, justify="right" if column == "classes" else "left", overflow="fold")
    for spec, location in found:
        table.add_row(spec.name, str(len(spec.classes)), "x".join(map(str, (spec.channels, *spec.size))), location.describe(), spec.title)
    out().print(table)
