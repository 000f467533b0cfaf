"""Options shared by several commands, declared once, and the question "which did the user type?"."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..training.config import CHOICES

__all__ = [
    "JsonOption", "CheckpointOption", "ProjectOption", "DataDirOption", "OfflineOption", "PreprocessOption",
    "DeviceOption", "given_on_command_line",
]

JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
CheckpointOption = Annotated[Optional[str], typer.Option(
    "--checkpoint", "-c", help="A checkpoint, or 'last' (newest run's best.pt). Default: the bundled MNIST LeNet-5.")]
ProjectOption = Annotated[Path, typer.Option(help="Where --checkpoint last looks for runs.")]
DataDirOption = Annotated[Optional[Path], typer.Option(help="Look for dataset files here first.")]
OfflineOption = Annotated[bool, typer.Option("--offline", help="Never download (also LENET_OFFLINE=1).")]
PreprocessOption = Annotated[Optional[str], typer.Option(
    help="mnist | resize | none (default: mnist for 1-channel models).")]
DeviceOption = Annotated[str, typer.Option(help=" | ".join(CHOICES["device"]))]


def given_on_command_line(ctx: typer.Context) -> set[str]:
    """Names of the parameters the user typed (not defaults, not the environment).

    Compared by the source's name: click's ``ParameterSource`` enum is the public
    contract, whichever copy of click the Typer in use ships.
    """
    return {p.name for p in ctx.command.params
            if p.name and getattr(ctx.get_parameter_source(p.name), "name", None) == "COMMANDLINE"}
