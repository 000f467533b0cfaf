"""The ``lenet`` Typer app: global options, the outermost guard, and the registration of every command.

Commands are plain functions in their own modules; this module registers them,
so no command module imports the app.

The guard: whatever goes wrong, one line on stderr and a documented exit code. The
project's own errors carry their code; an operating-system error that escapes is
mapped by its errno (``errors.from_os_error``); anything else is a bug: one line, the
traceback in a crash file under the user cache, exit 70 (``LENET_DEBUG=1`` shows the
traceback instead).
"""

from __future__ import annotations

import errno
import os
import re
import signal
import tempfile
import time
import traceback
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import InternalError, Interrupted, LenetError, UsageError, did_you_mean, from_os_error
from .catalog import datasets_command, models_command
from .console import print_error
from .evaluate import eval_command
from .export import benchmark_command, export_command
from .inspection import inspect_command
from .plot import plot_command
from .predict import predict_command
from .runs import runs_command
from .serve import serve_command
from .summary import summary_command
from .train import train_command
from .tune import tune_command

__all__ = ["app", "main", "guarded"]

_SIGNALS_RECEIVED: list[int] = []  # SIGINT / SIGTERM seen by main()'s handler, newest last


def guarded(invoke: Callable[[], Any]) -> Any:
    """Run ``invoke``; turn every failure into a LenetError with the right exit code."""
    try:
        return invoke()
    except (typer.Exit, typer.Abort, LenetError):
        raise  # exits, --help, and our own errors already say what to do
    except typer.TyperException as exc:  # click's usage errors: one line too, not a boxed panel
        raise _one_line(exc) from None
    except KeyboardInterrupt:
        raise _interrupted() from None
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # the reader went away (`| head`): Typer leaves quietly
            raise
        raise from_os_error(exc) from None
    except Exception as exc:  # noqa: BLE001 - this is the net under everything else
        if _SIGNALS_RECEIVED:  # a library turned our KeyboardInterrupt into its own error (torch.export does)
            raise _interrupted() from None
        if os.environ.get("LENET_DEBUG") == "1":
            raise
        first_line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise InternalError(f"internal error (a bug, please report it): {type(exc).__name__}: {first_line}; "
                            f"{_write_crash_report(exc)}") from None


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


def _interrupted() -> Interrupted:
    terminated = bool(_SIGNALS_RECEIVED) and _SIGNALS_RECEIVED[-1] == signal.SIGTERM
    return Interrupted("Interrupted; nothing was left half-written", 143 if terminated else 130)


def _write_crash_report(exc: BaseException) -> str:
    """The full traceback in a file; returns where it is (or why there is none)."""
    from ..checkpoint import write_text
    from ..data.search import cache_dir

    report = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    for directory in (cache_dir() / "crashes", Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            write_text(directory / name, report)
            return f"traceback in {directory / name} (LENET_DEBUG=1 shows it here)"
        except (OSError, LenetError):
            continue
    return "no crash file could be written; run again with LENET_DEBUG=1 to see the traceback"


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
            return guarded(lambda: super(LenetGroup, self).invoke(ctx))
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


def _interrupt(signum: int, _frame: Any) -> None:
    """Ctrl-C and SIGTERM stop a command by KeyboardInterrupt, so cleanup (temp files) runs; exit 130 / 143."""
    _SIGNALS_RECEIVED.append(signum)
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # a background job keeps ignoring Ctrl-C
            signal.signal(sig, _interrupt)
    try:
        app()
    except KeyboardInterrupt:
        # Raised after the guard had already answered the signal (seen once in CI, during an ONNX export:
        # the exporter swallowed the first interrupt and the handler ran again while exiting). Uncaught,
        # Python would end by SIGINT (exit -2); the documented answer is still 130 / 143, with one line.
        if not _SIGNALS_RECEIVED:
            raise
        raise SystemExit(_interrupted().exit_code) from None
