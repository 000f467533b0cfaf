"""The outermost guard: whatever goes wrong, one line on stderr and a documented exit code.

The project's own errors carry their code; an operating-system error that escapes is
mapped by its errno (``errors.from_os_error``); anything else is a bug: one line, the
traceback in a crash file under the user cache, exit 70 (``LENET_DEBUG=1`` shows the
traceback instead).
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import typer

from ..errors import InternalError, Interrupted, LenetError, from_os_error

__all__ = ["guarded"]


def guarded(invoke: Callable[[], Any]) -> Any:
    """Run ``invoke``; turn every failure into a LenetError with the right exit code."""
    try:
        return invoke()
    except (typer.Exit, typer.Abort, typer.TyperException, LenetError):
        raise  # click's own (usage errors, --help, exits) and ours already say what to do
    except KeyboardInterrupt:
        raise Interrupted("Interrupted") from None
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # the reader went away (`| head`): Typer leaves quietly
            raise
        raise from_os_error(exc) from None
    except Exception as exc:  # noqa: BLE001 - this is the net under everything else
        if os.environ.get("LENET_DEBUG") == "1":
            raise
        where = _write_crash_report(exc)
        raise InternalError(f"internal error (a bug, please report it): {type(exc).__name__}: "
                            f"{str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}; {where}") from None


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

