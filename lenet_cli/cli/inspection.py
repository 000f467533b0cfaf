"""``lenet inspect``: one picture of what the network does with an image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..errors import InputNotFound, LenetError
from .console import new_table, out, print_json
from .options import CheckpointOption, DeviceOption, PreprocessOption, ProjectOption


def inspect_command(
    image: Annotated[Path, typer.Argument(help="The image to look at (any format Pillow reads).")],
    checkpoint: CheckpointOption = None,
    out_path: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where to write the picture (default: inspect-IMAGE.png here).")] = None,
    preprocess: PreprocessOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Layer shapes, statistics and the prediction as one JSON document.")] = False,
    project: ProjectOption = Path("runs/train"),
    device: DeviceOption = "auto",
) -> None:
    """Draw the input, every layer's feature maps and the output scores for one image."""
    from ..api.model import load
    from ..evaluation.pictures import draw_inspection

    if not image.is_file():
        raise InputNotFound(f"Image {image} not found")
    target = out_path or Path(f"inspect-{image.stem}.png")
    if not target.parent.is_dir():
        raise LenetError(f"Cannot write {target}: directory {target.parent} does not exist")
    model = load(checkpoint, device=device, preprocess=preprocess, project=project)
    result = model.inspection(image)
    try:
        draw_inspection(result, target)
    except OSError as exc:
        raise LenetError(f"Cannot write {target}: {exc.strerror or exc}") from None
    if as_json:
        print_json({**result.to_dict(), "checkpoint": str(model.path), "figure": str(target)})
        return
    table = new_table(title=f"{result.model} on {escape(str(image))}")
    for column, justify in (("layer", "left"), ("type", "left"), ("shape", "right"), ("min", "right"),
                            ("mean", "right"), ("max", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for layer in result.layers:
        stats = layer.to_dict()
        table.add_row(layer.label, layer.kind, str(stats["shape"]), f"{stats['min']:.3g}", f"{stats['mean']:.3g}",
                      f"{stats['max']:.3g}")
    console = out()
    console.print(table)
    p = result.prediction
    console.print(f"Prediction: [bold]{escape(p.class_name)}[/] ({p.probability:.1%}); "
                  + ", ".join(f"{escape(n)} {q:.1%}" for n, q in p.topk[1:]))
    console.print(f"Picture: {escape(str(target))}")
