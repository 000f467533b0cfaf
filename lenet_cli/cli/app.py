"""The ``lenet`` Typer app: global options, error handling, and command registration."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import LenetError
from .console import print_error

__all__ = ["app", "main"]


class LenetGroup(TyperGroup):
    """Turns the project's own errors into one red line and the documented exit code."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
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


# Each command lives in its own module and registers itself on `app`.
from . import catalog, evaluate, export, inspection, predict, summary, train  # noqa: E402,F401


def main() -> None:
    """Console-script entry point."""
    app()
