"""The project's exception hierarchy; each class carries the exit code the CLI uses.

Library code raises these with a message that names the fix. The CLI catches
only :class:`LenetError`, prints its message as one line on stderr and exits
with ``exit_code``. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
from typing import Iterable

__all__ = [
    "LenetError",
    "UsageError",
    "QualityGateFailed",
    "TrainingDiverged",
    "DataFormatError",
    "ImageTooLarge",
    "InputNotFound",
    "DataUnavailable",
    "Interrupted",
    "CannotCreateOutput",
    "IOFailure",
    "PermissionDenied",
    "InternalError",
    "from_os_error",
    "did_you_mean",
    "require_choice",
    "EXIT_CODES",
]


class LenetError(Exception):
    """An error in the tool's own domain (exit 1)."""

    exit_code: int = 1


class UsageError(LenetError):
    """A bad option value, such as an unknown model or dataset name (exit 2)."""

    exit_code = 2


class QualityGateFailed(LenetError):
    """A ``--fail-under`` gate was not met (exit 3)."""

    exit_code = 3


class TrainingDiverged(LenetError):
    """The loss became NaN or infinite; the last good checkpoint is kept (exit 4)."""

    exit_code = 4


class DataFormatError(LenetError):
    """Input data is corrupt or malformed: truncated IDX, bad gzip, bad image (exit 65)."""

    exit_code = 65


class ImageTooLarge(DataFormatError):
    """An image over the pixel limit, refused as a possible decompression bomb (exit 65; HTTP 413)."""


class InputNotFound(LenetError):
    """A path the user named does not exist (exit 66)."""

    exit_code = 66


class DataUnavailable(LenetError):
    """A dataset is neither found locally nor downloadable (exit 69)."""

    exit_code = 69


class Interrupted(LenetError):
    """Stopped by a signal after saving a resumable checkpoint (exit 130 or 143)."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class CannotCreateOutput(LenetError):
    """An output path cannot be created: a name too long, a file where a directory must be (exit 73)."""

    exit_code = 73


class IOFailure(LenetError):
    """Reading or writing failed: a full disk, a device error (exit 74)."""

    exit_code = 74


class PermissionDenied(LenetError):
    """The operating system refused access to a file or directory (exit 77)."""

    exit_code = 77


class InternalError(LenetError):
    """A bug: an exception nobody expected; the traceback goes to a crash file (exit 70)."""

    exit_code = 70


_ERRNO_CLASSES: dict[int, type[LenetError]] = {
    errno.ENOENT: InputNotFound,
    errno.EACCES: PermissionDenied, errno.EPERM: PermissionDenied, errno.EROFS: PermissionDenied,
    errno.ENAMETOOLONG: CannotCreateOutput, errno.ENOTDIR: CannotCreateOutput, errno.EISDIR: CannotCreateOutput,
    errno.EEXIST: CannotCreateOutput,
}


def from_os_error(exc: OSError, action: str = "") -> LenetError:
    """The LenetError for an operating-system error, by errno (anything unlisted is an I/O failure, 74).

    ``action`` says what was being done, e.g. "Could not write runs/exp/last.pt".
    """
    where = action or (f"{exc.filename}" if exc.filename else "I/O error")
    return _ERRNO_CLASSES.get(exc.errno or 0, IOFailure)(f"{where}: {exc.strerror or exc}")


# The documented contract; docs/exit-codes.md and the tests are checked against it.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "error in the tool's own domain",
    2: "usage error (bad option or value, unknown model or dataset)",
    3: "a quality gate failed (--fail-under)",
    4: "training diverged (non-finite loss); last good checkpoint kept",
    65: "bad input data (corrupt image, truncated IDX file)",
    66: "input not found",
    69: "data unavailable (download failed, or offline and not found locally)",
    70: "internal error (a bug): one line, the traceback in a crash file under the user cache",
    73: "cannot create output (a path component too long, a file where a directory must be)",
    74: "I/O error (a full disk, a device error, stdout closed)",
    77: "permission denied",
    130: "interrupted by SIGINT after saving a resumable checkpoint",
    143: "terminated by SIGTERM after saving a resumable checkpoint",
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'adamw'?)`` for the choice closest to a mistyped ``word``, or ``''`` when none is close."""
    import difflib

    match = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def require_choice(option: str, value: object, allowed: Iterable[str]) -> None:
    """A usage error unless ``value`` is one of ``allowed``: "--optimizer must be one of sgd, adam, adamw, not
    'adan' (did you mean 'adam'?)"."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise UsageError(f"{option} must be one of {', '.join(allowed)}, not {str(value)!r}"
                         f"{did_you_mean(str(value), allowed)}")
