"""Options shared by several commands, declared once, and the question "which did the user type?"."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Iterable, Literal, Optional

import typer

from ..data.specs import PREPROCESS_MODES
from ..inference import TOPK
from ..training.config import CHOICES

__all__ = [
    "one_of", "complete_models", "complete_datasets", "ModelOption", "JsonOption", "CheckpointOption", "ProjectOption",
    "DataDirOption", "OfflineOption", "PreprocessOption", "DeviceOption", "TopkOption", "TOPK", "argv_without",
    "given_on_command_line",
]


def one_of(values: Iterable[str]) -> Any:
    """A closed set of values as a type: Typer checks it, lists it in --help and completes it on TAB."""
    return Literal[tuple(values)]  # type: ignore[valid-type]


def complete_models(incomplete: str) -> list[str]:
    """TAB completion for --model: the registered names."""
    from ..models import list_models

    return [name for name in list_models() if name.startswith(incomplete)]


def complete_datasets(incomplete: str) -> list[str]:
    """TAB completion for --dataset: the known names, and the idx: and folder: forms."""
    from ..data.specs import DATASETS

    return [name for name in (*DATASETS, "idx:", "folder:") if name.startswith(incomplete)]


JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
CheckpointOption = Annotated[Optional[str], typer.Option(
    "--checkpoint", "-c", help="A lenet checkpoint (.pt), an .onnx export, or 'last' (the newest run under --project: "
    "its best.pt, else last.pt). Default: the bundled MNIST LeNet-5.")]
ProjectOption = Annotated[Path, typer.Option(help="Where runs live; --checkpoint last takes the newest.")]
ModelOption = Annotated[str, typer.Option("--model", "-m", help="Model name (see `lenet models`).",
                                          autocompletion=complete_models)]
DataDirOption = Annotated[Optional[Path], typer.Option(help="Look for dataset files here first.")]
OfflineOption = Annotated[bool, typer.Option("--offline", help="Never download (also LENET_OFFLINE=1).")]
PreprocessOption = Annotated[Optional[one_of(PREPROCESS_MODES)], typer.Option(
    help="How pictures become model input: mnist (find the ink, centre it as MNIST does), resize, or none. "
    "Default: mnist for 1-channel models.")]
DeviceOption = Annotated[one_of(CHOICES["device"]), typer.Option(help="Where the model runs.")]
TopkOption = Annotated[int, typer.Option(min=1, help="How many of the most likely classes to report.")]


def argv_without(option: str) -> list[str]:
    """This command's arguments without ``option`` and its value: to start the same command again, elsewhere."""
    argv, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(f"{option}="):
            argv.append(arg)
    return argv


def given_on_command_line(ctx: typer.Context) -> set[str]:
    """Names of the parameters the user typed (not defaults, not the environment).

    Compared by the source's name: click's ``ParameterSource`` enum is the public
    contract, whichever copy of click the Typer in use ships.
    """
    return {p.name for p in ctx.command.params
            if p.name and getattr(ctx.get_parameter_source(p.name), "name", None) == "COMMANDLINE"}
