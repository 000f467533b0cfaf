"""``lenet export``: TorchScript, ONNX or safetensors, verified against the PyTorch model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..errors import UsageError
from .app import app
from .console import out, print_json

_FORMATS = ("torchscript", "onnx", "safetensors")  # engine.export.FORMATS, without importing torch for --help


@app.command("export")
def export_command(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help=" | ".join(_FORMATS))],
    checkpoint: Annotated[Optional[str], typer.Option("--checkpoint", "-c", help="A checkpoint, or 'last' (newest run's best.pt). Default: the bundled MNIST LeNet-5.")] = None,
    out_path: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output file (default: beside the checkpoint, e.g. best.onnx).")] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset.")] = 18,
    dynamic_batch: Annotated[bool, typer.Option("--dynamic-batch/--static-batch", help="ONNX: any batch size, or exactly 1.")] = True,
    verify_images: Annotated[int, typer.Option(min=2, help="Test images the export is checked on.")] = 256,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
    project: Annotated[Path, typer.Option(help="Where --checkpoint last looks for runs.")] = Path("runs/train"),
) -> None:
    """Export a checkpoint; the file is kept only if it reproduces the PyTorch model on real test images."""
    from typer._click.core import ParameterSource

    if fmt not in _FORMATS:
        raise UsageError(f"--format must be one of {', '.join(_FORMATS)}, not {fmt!r}")
    onnx_only = [f"--{name.replace('_', '-')}" for name in ("opset", "dynamic_batch")
                 if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE]
    if fmt != "onnx" and onnx_only:
        raise UsageError(f"{' and '.join(onnx_only)} apply to --format onnx only")

    from ..engine.export import default_output, export_checkpoint
    from ..engine.predict import resolve_checkpoint

    source = resolve_checkpoint(checkpoint, project)
    target = out_path or default_output(source, fmt, bundled=checkpoint is None)
    result = export_checkpoint(source, fmt, target, opset=opset, dynamic_batch=dynamic_batch,
                               verify_images=verify_images)
    if as_json:
        print_json(result.to_dict())
        return
    check = result.verification
    details = f", opset {opset}, {'dynamic' if dynamic_batch else 'static'} batch" if fmt == "onnx" else ""
    console = out()
    console.print(f"Exported {escape(str(result.path))} ({fmt}{details}, {result.bytes:,} bytes)")
    if result.sidecar:
        console.print(f"Metadata: {escape(str(result.sidecar))}")
    console.print(f"Verified on {check.images} images ({escape(check.source)}): max |difference| "
                  f"{check.max_abs_diff:.2g} (limit {check.tolerance:.2g}), top-1 identical on "
                  f"{check.top1_agree}/{check.images}")
    console.print(f"sha256 {result.sha256}")
