"""``lenet predict``: classes for image files, directories, globs or paths on stdin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..inference import MOST_DIGITS
from .options import CheckpointOption, DeviceOption, PreprocessOption, ProjectOption, TopkOption
from .predict_run import PredictOptions, predict

_DEFAULT = PredictOptions()


def predict_command(
    inputs: Annotated[Optional[list[str]], typer.Argument(help="Image files, directories, glob patterns, or - to read paths from stdin.")] = None,
    checkpoint: CheckpointOption = None,
    number: Annotated[bool, typer.Option("--number", "-n", help="Read a row of digits as one whole number, digit by digit.")] = False,
    topk: TopkOption = _DEFAULT.topk,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, one object per input.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
    preprocess: PreprocessOption = None,
    save_preprocessed: Annotated[Optional[Path], typer.Option(help="Write what the model saw, and the steps that made it, as PNG into this directory.")] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subdirectories.")] = False,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Processes preparing pictures (default: every core from 64 pictures on; --number reads in one).")] = None,
    project: ProjectOption = _DEFAULT.project,
    device: DeviceOption = _DEFAULT.device,
    fail_on_no_digit: Annotated[bool, typer.Option("--fail-on-no-digit", help="Exit 65 when a picture holds no digit (blank paper; an empty --number); the others are still predicted.")] = False,
    digits: Annotated[Optional[int], typer.Option("--digits", min=1, max=MOST_DIGITS, help="Read each picture as a number of exactly this many digits (a ZIP code, a date); implies --number.")] = None,
) -> None:
    """Predict the class of each image (digits from photos and scans work out of the box)."""
    options = {name: value for name, value in locals().items() if name != "inputs"}  # exactly PredictOptions' fields
    predict(inputs, PredictOptions(**options))
