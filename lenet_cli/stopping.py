"""Stopping long work cleanly on a signal: the first asks it to stop after its step, the second leaves at once.

Training polls a ``StopRequest`` after every step and saves a resumable checkpoint before it returns. The CLI
listens to Ctrl-C and SIGTERM (``cli.guard`` adds its exit codes); the Python API to Ctrl-C only, which is
also how a Jupyter kernel is interrupted.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Callable, Iterable

from .files import holding_signals

__all__ = ["StopRequest"]


class StopRequest:
    """First signal: ask the work to stop after its step (``notice`` says so). Second: KeyboardInterrupt at once.

    The work polls the request (``stop()`` is true once a signal came). Outside the main thread, where Python
    cannot set signal handlers, the request listens to nothing and never asks to stop.
    """

    def __init__(self, notice: Callable[[], None] = lambda: None,
                 signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        self.signum: int | None = None
        self._notice = notice
        self._signals = tuple(signals)
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in self._signals:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.signum is not None:
            if holding_signals(signum):  # a file is being written: the interrupt comes when it is safe
                return
            raise KeyboardInterrupt
        self.signum = signum
        self._notice()

    def __call__(self) -> bool:
        return self.signum is not None
