"""The ``lenet`` command's entry point, also ``python -m lenet_cli``.

Ctrl-C and SIGTERM are caught from the first line lenet runs: until the command's own handlers are
in place, a signal is only recorded here, and ``main`` answers it at once (130 / 143, one line)
instead of Python's traceback or a death by SIGTERM. Only the command imports this module; the
library and its tests never do.
"""

import signal

_EARLY_SIGNALS: list[int] = []


def _record(signum: int, _frame: object) -> None:
    _EARLY_SIGNALS.append(signum)


for _signal in (signal.SIGINT, signal.SIGTERM):
    if signal.getsignal(_signal) is not signal.SIG_IGN:  # a background job keeps ignoring Ctrl-C
        signal.signal(_signal, _record)

from .cli.main import main as _main  # noqa: E402  (after the handlers, by design)


def main() -> None:
    """Console-script entry point."""
    _main(early_signals=_EARLY_SIGNALS)


if __name__ == "__main__":
    main()
