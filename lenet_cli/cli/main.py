"""The ``lenet`` console script: signal handlers, then the Typer app, or the quick path of `lenet predict`.

A shell script that predicts file by file pays start-up on every call, and Typer (which
imports pydantic), click and Rich cost more of it than reading the picture and running
the model. So a `lenet predict` that uses only plain inputs, ``--json``, ``--csv``,
``--recursive`` and ``--checkpoint`` runs without them; anything else (``--help``, other
options, a mistake) goes through the Typer app, which gives the usual help and errors.
Both paths call the same ``predict_run.predict`` inside the same outer guard.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional, Sequence

from ..errors import LenetError
from .guard import (guarded, install_signal_handlers, interrupted, interruption_reported, late_signal_exit_code,
                    record_early_signals, record_signals_only, signal_received)

__all__ = ["main", "quick_predict_arguments"]

_QUICK_FLAGS = {"--json": "as_json", "--csv": "as_csv", "--recursive": "recursive", "-r": "recursive"}
_QUICK_VALUES = {"--checkpoint": "checkpoint", "-c": "checkpoint"}


def main(early_signals: Sequence[int] = ()) -> None:
    """The command: its exit code, 130 / 143 whenever Ctrl-C or SIGTERM stopped it (``early_signals``: those
    that came before its handlers were in place)."""
    install_signal_handlers()
    if early_signals:  # stopped before anything ran: one line, 130 / 143
        record_early_signals(early_signals)
        _print_error(str(interrupted()))
        _exit(interrupted().exit_code)
    try:
        _run(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if signal_received() and _answers_an_interrupt(exc):
            # Typer's own answer to an interrupt outside the guard (while it parses the command line, or an
            # import held it back until then) is a silent 130, even for SIGTERM: ours is one line, 130 / 143.
            if not interruption_reported():
                _print_error(str(interrupted()))
            code = interrupted().exit_code
        _exit(code)
    except KeyboardInterrupt:
        # Outside the guard: while the app itself was being imported (a signal held back during an import is
        # raised when it ends), or after the guard had answered (a library that swallows the first interrupt,
        # as the ONNX exporter can, lets the handler run again while exiting). Uncaught, Python would end by
        # SIGINT (exit -2); the documented answer is still 130 / 143, with one line.
        if not signal_received():
            raise
        if not interruption_reported():
            _print_error(str(interrupted()))
        _exit(interrupted().exit_code)
    _exit(0)


def _answers_an_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` was raised in answer to a KeyboardInterrupt: one among its explicit causes, or the
    exceptions it was raised while handling (unless a cause was suppressed, ``raise ... from None``)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ if seen.__cause__ is not None else (None if seen.__suppress_context__ else seen.__context__)
    return False


def _run(args: list[str]) -> None:
    """The Typer app, or the quick path of a plain `lenet predict`."""
    quick = quick_predict_arguments(args)
    if quick is None:
        from .app import app

        app()
    else:
        _run_quick_predict(quick)


def _exit(code: int) -> None:
    """Leave with ``code``, unless a signal stopped the command on its way out (then 130 / 143, one line).

    The program's cleanup (atexit: logging, multiprocessing, torch) runs first, while a signal is still
    recorded; then the process ends at once. Python's own teardown would put the default action back on
    SIGINT and SIGTERM, so a signal in it would end the process "killed by a signal" instead of 130 / 143.
    """
    _run_cleanup()
    late = late_signal_exit_code()
    if late is not None and code in (0, late):
        if code == 0:
            _print_error(str(interrupted()))
        code = late
    _flush_standard_streams()
    _leave(code)


def _print_error(message: str) -> None:
    from .console import print_error

    print_error(message)


def _run_cleanup() -> None:
    import atexit

    record_signals_only()
    _flush_standard_streams()
    atexit._run_exitfuncs()  # what Python's teardown would run; handlers registered are run once, here


def _flush_standard_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a reader that went away, or a stream already closed
            pass


def _leave(code: int) -> None:
    os._exit(code)


def quick_predict_arguments(args: list[str]) -> Optional[dict[str, Any]]:
    """``predict_run.predict``'s arguments when ``args`` are `predict` with only the quick path's options; else None."""
    if not args or args[0] != "predict":
        return None
    found: dict[str, Any] = {"inputs": []}
    rest = iter(args[1:])
    for arg in rest:
        name, has_value, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg == "-" or not arg.startswith("-"):
            found["inputs"].append(arg)
        elif arg in _QUICK_FLAGS:
            found[_QUICK_FLAGS[arg]] = True
        elif name in _QUICK_VALUES:
            value = value if has_value else next(rest, "")
            if not value or value.startswith("-"):
                return None  # a missing value: Typer says so
            found[_QUICK_VALUES[name]] = value
        else:
            return None
    return found if found["inputs"] else None


def _run_quick_predict(arguments: dict[str, Any]) -> None:
    """`lenet predict` without Typer: the same guard, the same one-line errors and exit codes."""
    from .console import print_error
    from .predict_run import PredictOptions, predict

    inputs = arguments.pop("inputs")
    try:
        guarded(lambda: predict(inputs, PredictOptions(**arguments)))
    except LenetError as exc:
        print_error(str(exc))
        raise SystemExit(exc.exit_code) from None
    except BrokenPipeError:
        # The reader went away (`| head`): leave quietly with 1, as click does, and let nothing flush into
        # the closed pipe at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
