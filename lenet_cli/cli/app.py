"""The ``lenet`` Typer app: global options and the registration of every command.

Commands are plain functions in their own modules; this module registers them,
so no command module imports the app. Every command runs inside the outer guard
(``guard.guarded``): one line on stderr and a documented exit code, whatever fails;
click's usage errors become one line too. The console script is ``main.main``.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, Callable, Optional

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import LenetError, UsageError, did_you_mean
from ..numbers import require_finite
from .catalog import datasets_command, models_command
from .console import print_error
from .evaluate import eval_command
from .export import benchmark_command, export_command
from .guard import guarded
from .inspection import inspect_command
from .plot import plot_command
from .predict import predict_command
from .runs import runs_command
from .serve import serve_command
from .summary import summary_command
from .train import train_command
from .tune import tune_command

__all__ = ["app", "COMMANDS"]


def guarded_command(invoke: Callable[[], Any]) -> Any:
    """``guard.guarded`` for a Typer command: click's exits pass through, its usage errors become one line."""
    def with_usage_errors() -> Any:
        try:
            return invoke()
        except (typer.Exit, typer.Abort):
            raise  # exits and --help already say what to do
        except typer.TyperException as exc:  # click's usage errors: one line too, not a boxed panel
            raise _one_line(exc) from None

    return guarded(with_usage_errors, passthrough=(typer.Exit, typer.Abort))


def _one_line(exc: typer.TyperException) -> LenetError:
    """A click usage error (unknown option, value out of range) as one line with its exit code (2)."""
    context = getattr(exc, "ctx", None)
    hint = f" (see: {context.command_path} --help)" if context is not None else ""
    message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]  # "Choose from:\n\t..." too
    error = UsageError(f"{_with_suggestion(message)}{hint}")
    error.exit_code = getattr(exc, "exit_code", 2)
    return error


_NOT_A_CHOICE = re.compile(r"(?:Value error, )?'(?P<value>[^']*)' is not one of (?P<choices>'.*')\.?")


def _with_suggestion(message: str) -> str:
    """A value outside a closed set gets the closest choice suggested: "... (did you mean 'adam'?)"."""
    found = _NOT_A_CHOICE.search(message)
    if not found:
        return message
    choices = re.findall(r"'([^']*)'", found["choices"])
    plain = f"{found['value']!r} is not one of {', '.join(choices)}"
    return message[: found.start()] + plain + did_you_mean(found["value"], choices)


class LenetGroup(TyperGroup):
    """Turns every failure into one red line and the documented exit code (see ``guarded``)."""

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[no-untyped-def]
        """Usage errors in the global options (``lenet --bogus``) are one line too."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except typer.TyperException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # plain `lenet`: the help, as asked
                raise
            error = _one_line(exc)
            print_error(str(error))
            raise typer.Exit(error.exit_code) from None

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return guarded_command(lambda: super(LenetGroup, self).invoke(ctx))
        except LenetError as exc:
            print_error(str(exc))
            ctx.exit(exc.exit_code)


def _flags_take_no_value() -> None:
    """Typer's help shows a type after every option, even after flags (``--json <bool>``); flags take no value.

    The one place the help's type column is patched: options that are flags show nothing there.
    """
    option = getattr(typer.core, "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if shown is None or getattr(shown, "lenet_patched", False):  # another Typer: its help has no such column
        return

    def display_type_rich(self, ctx):  # type: ignore[no-untyped-def]
        return None if self.is_flag else shown(self, ctx)

    display_type_rich.lenet_patched = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich


_flags_take_no_value()

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
    "benchmark": benchmark_command, "inspect": inspect_command, "plot": plot_command, "predict": predict_command,
    "runs": runs_command, "serve": serve_command, "summary": summary_command, "train": train_command,
    "tune": tune_command,
}


def _finite_numbers(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` refusing NaN and infinities in any float option (exit 2), whichever command and option."""
    @functools.wraps(command)  # Typer reads the wrapped command's options
    def checked(*args: Any, **options: Any) -> Any:
        for name, value in options.items():
            require_finite(f"--{name.replace('_', '-')}", value)
        return command(*args, **options)

    return checked


for _name, _command in COMMANDS.items():
    app.command(_name)(_finite_numbers(_command))


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
