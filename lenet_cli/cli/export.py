"""``lenet export`` and ``lenet benchmark``: any registered format, verified against the PyTorch model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..errors import UsageError
from ..export import get_format, list_formats
from ..export.registry import VERIFY_IMAGES
from ..export.onnx_format import DEFAULT_OPSET
from .console import err, new_table, out, print_json
from .options import CheckpointOption, DataDirOption, JsonOption, ProjectOption, given_on_command_line, one_of

_FORMAT_OPTIONS = ("opset", "dynamic_batch")  # the options below that belong to one format (ExportFormat.options)
_Format = one_of(list_formats())
# `lenet benchmark --format` (as export.benchmark.RUNTIMES, which imports torch): a list option, and Typer takes
# no list of Literal, so its completion is ours and the benchmark checks the names.
_RUNTIMES = ("pytorch", *list_formats())



def export_command(
    ctx: typer.Context,
    fmt: Annotated[_Format, typer.Option("--format", "-f", help="The file format (see docs/export.md).")],
    checkpoint: CheckpointOption = None,
    out_path: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output file (default: beside the checkpoint, e.g. best.onnx).")] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset.")] = DEFAULT_OPSET,
    dynamic_batch: Annotated[bool, typer.Option("--dynamic-batch/--static-batch", help="ONNX: any batch size, or exactly 1.")] = True,
    verify_images: Annotated[int, typer.Option(min=VERIFY_IMAGES[0], max=VERIFY_IMAGES[1], help="Test images the export is checked on.")] = 256,
    as_json: JsonOption = False,
    project: ProjectOption = Path("runs/train"),
) -> None:
    """Export a checkpoint; the file is kept only if it reproduces the PyTorch model on real test images."""
    export_format = get_format(fmt)
    misplaced = [name for name in _FORMAT_OPTIONS if name in given_on_command_line(ctx)
                 and name not in export_format.options]
    if misplaced:
        owners = " | ".join(f for f in list_formats() if misplaced[0] in get_format(f).options)
        raise UsageError(f"{' and '.join(_flag(name) for name in misplaced)} apply to --format {owners} only")
    from ..api.model import load

    options = {name: ctx.params[name] for name in export_format.options}
    result = load(checkpoint, project=project).export_result(fmt, out_path, verify_images=verify_images, **options)
    if as_json:
        print_json(result.to_dict())
    else:
        _print_result(result)


def _print_result(result) -> None:
    """What was written and how it was verified."""
    check, options = result.verification, result.options
    details = "".join(f", {_describe(name, value)}" for name, value in options.items())
    console = out()
    console.print(f"Exported {escape(str(result.path))} ({result.format}{details}, {result.bytes:,} bytes)")
    if result.sidecar:
        console.print(f"Metadata: {escape(str(result.sidecar))}")
    console.print(f"Verified on {check.images} images ({escape(check.source)}): max |difference| "
                  f"{check.max_abs_diff:.2g} (limit {check.tolerance:.2g}), top-1 identical on "
                  f"{check.top1_agree}/{check.images}")
    console.print(f"sha256 {result.sha256}")


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def _describe(name: str, value: object) -> str:
    """A format option as the summary line says it ("opset 18", "dynamic batch")."""
    if name == "dynamic_batch":
        return "dynamic batch" if value else "static batch"
    return f"{name} {value}"


def benchmark_command(
    checkpoint: CheckpointOption = None,
    formats: Annotated[Optional[list[str]], typer.Option(
        "--format", "-f", help="Runtimes to measure (repeatable): " + " | ".join(_RUNTIMES) + "; default all.",
        autocompletion=lambda incomplete: [r for r in _RUNTIMES if r.startswith(incomplete)])] = None,
    batches: Annotated[Optional[list[int]], typer.Option("--batch", "-b", min=1, max=65536, help="Batch sizes (repeatable); default 1 and 64.")] = None,
    images: Annotated[int, typer.Option(min=1, max=1_000_000, help="Test images timed per format and batch size.")] = 1024,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
    project: ProjectOption = Path("runs/train"),
) -> None:
    """Time a checkpoint in PyTorch and in every export format, and check each one's test accuracy."""
    from ..export.benchmark import DEFAULT_BATCHES, benchmark
    from ..inference.loading import require_lenet_checkpoint, resolve_checkpoint

    def report(row) -> None:
        if not as_json:
            err().print(f"{row.format}, batch {row.batch}: {row.status}", markup=False, highlight=False)

    source = require_lenet_checkpoint(resolve_checkpoint(checkpoint, project), "benchmark (it exports to every format)")
    rows, context = benchmark(source, formats, tuple(batches or DEFAULT_BATCHES), images,
                              str(data_dir) if data_dir else None, on_row=report)
    if as_json:
        print_json({**context, "rows": [row.to_dict() for row in rows]})
        return
    _print_benchmark(rows, context)


def _print_benchmark(rows, context: dict) -> None:
    table = new_table(title=f"{context['model']}, {context['timed_images']:,} images timed per row, accuracy on all "
                        f"{context['test_images']:,} {context['dataset']} test images, {context['torch_threads']} "
                        "torch threads", title_justify="left")
    numeric = ("batch", "ms/image", "images/s", "test accuracy")
    columns = ("format", "runtime", *numeric) + (("note",) if any(row.note for row in rows) else ())
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left", overflow="fold")
    for row in rows:
        ok = row.status == "ok"
        cells = [row.format, row.runtime, str(row.batch), f"{row.ms_per_image:.3f}" if ok else row.status,
                 f"{row.images_per_s:,.0f}" if ok else "-", f"{row.test_accuracy:.2%}" if ok else "-"]
        table.add_row(*cells, *([escape(row.note)] if "note" in columns else []))
    out().print(table)
