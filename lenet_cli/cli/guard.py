"""The outermost guard: whatever goes wrong, one line on stderr and a documented exit code.

The project's own errors carry their code; an operating-system error that escapes is
mapped by its errno (``errors.from_os_error``); anything else is a bug: one line, the
traceback in a crash file under the user cache, exit 70 (``LENET_DEBUG=1`` shows the
traceback instead). Ctrl-C and SIGTERM end a command by KeyboardInterrupt, so cleanup
runs, and exit 130 / 143.

This module imports neither Typer nor Rich: ``lenet predict``'s quick path uses it too.
"""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import stopping
from ..errors import InternalError, Interrupted, LenetError, from_os_error
from ..files import holding_signals, input_scope

__all__ = ["guarded", "interrupted", "install_signal_handlers", "signal_received", "exit_code_for_signal",
           "StopRequest", "late_signal_exit_code", "record_signals_only", "record_early_signals", "interruption_reported"]

EXIT_FOR_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number, as shells report it
_SIGNALS_RECEIVED: list[int] = []  # SIGINT / SIGTERM seen by the handler, newest last
_REPORTED: list[bool] = []  # whether the guard turned an interrupt into the command's error (printed by the caller)


def guarded(invoke: Callable[[], Any], passthrough: tuple[type[BaseException], ...] = ()) -> Any:
    """Run ``invoke``; turn every failure into a LenetError with the right exit code.

    Exceptions in ``passthrough`` (the CLI framework's own exits) and a broken pipe (the
    reader went away, `| head`) are raised unchanged, for the caller to end quietly.
    """
    try:
        with input_scope():  # what the command reads, it does not write over
            return invoke()
    except (LenetError, *passthrough):
        raise
    except KeyboardInterrupt:
        _REPORTED.append(True)
        raise interrupted() from None
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise
        raise from_os_error(exc) from None
    except Exception as exc:  # noqa: BLE001 - this is the net under everything else
        if _SIGNALS_RECEIVED:  # a library turned our KeyboardInterrupt into its own error (torch.export does)
            _REPORTED.append(True)
            raise interrupted() from None
        if os.environ.get("LENET_DEBUG") == "1":
            raise
        first_line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise InternalError(f"internal error (a bug, please report it): {type(exc).__name__}: {first_line}; "
                            f"{_write_crash_report(exc)}") from None


def exit_code_for_signal(signum: int | None) -> int:
    """130 for Ctrl-C (and when no signal is known), 143 for SIGTERM."""
    return EXIT_FOR_SIGNAL.get(signum, 130) if signum is not None else 130


def interrupted() -> Interrupted:
    """The error of a command stopped by Ctrl-C (130) or SIGTERM (143)."""
    newest = _SIGNALS_RECEIVED[-1] if _SIGNALS_RECEIVED else None
    return Interrupted("Interrupted; nothing was left half-written", exit_code_for_signal(newest))


class StopRequest(stopping.StopRequest):
    """``stopping.StopRequest`` on Ctrl-C and SIGTERM, each signal recorded for the command's exit code."""

    def _handle(self, signum: int, frame: Any) -> None:
        _SIGNALS_RECEIVED.append(signum)
        super()._handle(signum, frame)

    @property
    def exit_code(self) -> int:
        """The documented exit code of the signal that asked to stop (or of the newest one the command got:
        one held back during an import reaches the work as an interrupt, not through this request)."""
        return exit_code_for_signal(self.signum) if self.signum is not None else interrupted().exit_code


def interruption_reported() -> bool:
    """True once the guard answered an interrupt with the command's one error line."""
    return bool(_REPORTED)


def signal_received() -> bool:
    """True once SIGINT or SIGTERM reached this process's handler."""
    return bool(_SIGNALS_RECEIVED)


def install_signal_handlers() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt; a background job keeps ignoring Ctrl-C."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _interrupt)


def record_early_signals(signals: Sequence[int]) -> None:
    """Signals that came before the handlers were installed count as received."""
    _SIGNALS_RECEIVED.extend(signals)


def _interrupt(signum: int, frame: Any) -> None:
    _SIGNALS_RECEIVED.append(signum)
    if not holding_signals(signum):  # held: the writer raises it once its temp file can be cleaned up
        _raise_unless_importing(frame)


def _raise_unless_importing(frame: Any) -> None:
    """KeyboardInterrupt now, or, inside an import, as soon as the import is over.

    An exception raised while a module is being imported can cross C++ code that cannot pass it on
    (the process aborts) or be swallowed by a library's own import fallbacks (the signal is lost).
    So during an import the signal waits, polled on a short timer, and is answered when it ends.
    """
    if not _importing(frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGALRM, lambda _signum, later: _raise_unless_importing(later))
    signal.setitimer(signal.ITIMER_REAL, _IMPORT_POLL_SECONDS)


_IMPORT_POLL_SECONDS = 0.02
_IMPORT_MACHINERY = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")


def _importing(frame: Any) -> bool:
    """Whether ``frame`` runs inside an import (some caller is the import machinery)."""
    while frame is not None:
        if frame.f_code.co_filename in _IMPORT_MACHINERY:
            return True
        frame = frame.f_back
    return False


def record_signals_only() -> None:
    """From here on, Ctrl-C and SIGTERM are only recorded: the command is over, its cleanup runs untroubled
    (an interrupt inside an exit handler would only print a traceback), and a signal held back during an
    import is not raised any more."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _record_only)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)


def late_signal_exit_code() -> int | None:
    """On the way out: whether Ctrl-C or SIGTERM came (then the exit code is 130 / 143, never 0), and from here
    on, ignore them.

    Python's teardown puts the default action back on the signals it handled, and a signal that then
    reaches any of the process's threads (torch's, onnxruntime's) would kill it: "died by SIGTERM",
    not 143. An ignored signal is left ignored.
    """
    record_signals_only()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    return interrupted().exit_code if _SIGNALS_RECEIVED else None


def _record_only(signum: int, _frame: Any) -> None:
    _SIGNALS_RECEIVED.append(signum)


def _write_crash_report(exc: BaseException) -> str:
    """The full traceback in a file; returns where it is (or why there is none)."""
    import tempfile  # here: a crash is rare, and every command's start-up would pay for these
    import time
    import traceback

    from ..files import write_text
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
