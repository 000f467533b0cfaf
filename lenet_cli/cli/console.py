"""The only place that writes to the terminal: stdout for results, stderr for everything else.

Rich loads when a console is first made, not at import: JSON Lines need none of it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

from ..files import json_text
from ..errors import IOFailure

__all__ = ["out", "err", "print_json", "print_error", "print_note", "new_table", "safe_text"]


# C0 controls, DEL and C1 controls as escapes; a byte that was not UTF-8 (a lone surrogate from
# os.fsdecode) as the byte it was: a terminal then shows a name, never obeys it.
_NAMED_ESCAPES = {0x07: "\\a", 0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0B: "\\v", 0x0C: "\\f", 0x0D: "\\r",
                  0x1B: "\\e"}
_ESCAPES = {code: _NAMED_ESCAPES.get(code, f"\\x{code:02x}") for code in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES.update({0xDC00 + byte: f"\\x{byte:02x}" for byte in range(0x80, 0x100)})


def safe_text(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\e``, ``\\n``, ``\\t``, ``\\xNN``), as ls and git
    quote file names, so a name cannot clear the screen, colour the line or forge a line of its own."""
    return text.translate(_ESCAPES)


def out() -> "Console":
    """Console on stdout (results). Created per call so test runners' redirection is honoured."""
    from rich.console import Console

    if sys.stdout is None:  # started with stdout closed (`>&-`): the result would vanish without a word
        raise IOFailure("stdout is closed; nowhere to print the result")
    return Console(file=sys.stdout, highlight=False)


def new_table(*args: Any, **kwargs: Any) -> "Table":
    """A Rich table; rich.table is imported here, when a table is drawn, not when a command starts."""
    from rich.table import Table

    return Table(*args, **kwargs)


def err() -> "Console":
    """Console on stderr (progress, logs, warnings, errors)."""
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False)


def print_json(document: Any) -> None:
    """Exactly one JSON document (or one JSON Lines record) on stdout; NaN and infinities become null."""
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        raise IOFailure("stdout is closed; nowhere to print the result")
    sys.stdout.write(json_text(document) + "\n")
    sys.stdout.flush()


def print_error(message: str) -> None:
    """One red line on stderr; markup in the message (paths with brackets) is not interpreted, and control
    characters in it (a file name's) are shown escaped.

    The non-zero ranks of a distributed run stay silent: rank 0 reports the same error.
    """
    from ..training.distributed import is_main_process  # here: it is a start-up cost of every error-free run

    if not is_main_process():
        return
    err().print(f"error: {safe_text(message)}", style="bold red", markup=False, soft_wrap=True)


def print_note(message: str) -> None:
    """One plain line of information on stderr: something the user may want to know, not a fault."""
    from ..training.distributed import is_main_process

    if is_main_process():
        err().print(f"note: {safe_text(message)}", markup=False, highlight=False, soft_wrap=True)
