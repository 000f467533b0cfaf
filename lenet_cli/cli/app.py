"""The ``lenet`` Typer app: global options, error handling, and the registration of every command.

Commands are plain functions in their own modules; this module registers them,
so no command module imports the app.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import LenetError
from .catalog import datasets_command, models_command
from .console import print_error
from .evaluate import eval_command
from .export import export_command
from .guard import guarded
from .inspection import inspect_command
from .predict import predict_command
from .summary import summary_command
from .train import train_command

__all__ = ["app", "main"]


class LenetGroup(TyperGroup):
    """Turns every failure into one red line and the documented exit code (see guard.py)."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return guarded(lambda: super(LenetGroup, self).invoke(ctx))
        except LenetError as exc:
            print_error(str(exc))
            ctx.exit(exc.exit_code)


app = typer.Typer(
    name="lenet",
    cls=LenetGroup,
    help="Train, evaluate, inspect, export and use LeNet-family networks on MNIST-like data.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# name -> command, in the order `lenet --help` lists them.
COMMANDS = {
    "models": models_command, "datasets": datasets_command, "eval": eval_command, "export": export_command,
    "inspect": inspect_command, "predict": predict_command, "summary": summary_command, "train": train_command,
}
for _name, _command in COMMANDS.items():
    app.command(_name)(_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lenet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """Train, evaluate, inspect, export and use LeNet-family networks on MNIST-like data."""


def main() -> None:
    """Console-script entry point."""
    app()
