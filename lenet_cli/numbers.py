"""Numeric options checked in one place: the right type, finite, in range (exit 2 naming the option).

The CLI checks every float it parses (NaN and infinities parse as floats, and click's ranges let NaN
through); ``TrainConfig.validate`` and the commands' own limits use the same checks, so a config file
and the Python API get the same answers as the command line.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import UsageError

__all__ = ["require_finite", "require_in_range", "SEED_RANGE"]

SEED_RANGE = (0, 2**32 - 1)  # what NumPy and every torch generator accept alike


def require_finite(option: str, value: Any) -> None:
    """A float (or each float of a list) must be a real number: not NaN, not infinite."""
    values = value if isinstance(value, (list, tuple)) else [value]
    for item in values:
        if isinstance(item, float) and not math.isfinite(item):
            raise UsageError(f"{option} must be a finite number, not {item}")


def require_in_range(option: str, value: Any, low: float | None = None, high: float | None = None, *,
                     below_high: bool = False, integer: bool = False) -> None:
    """``value`` must be a number (a whole one with ``integer``) in [low, high] ([low, high) with ``below_high``)."""
    if value is None:
        return
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise UsageError(f"{option} must be {kind}, not {value!r}")
    require_finite(option, value)
    too_high = high is not None and (value >= high if below_high else value > high)
    if (low is not None and value < low) or too_high:
        raise UsageError(f"{option} must be {_range_text(low, high, below_high)}, not {value}")


def _range_text(low: float | None, high: float | None, below_high: bool) -> str:
    if high is None:
        return f"at least {low:,}" if isinstance(low, int) else f"at least {low}"
    if low is None:
        return f"at most {high}"
    return f"in [{low:,}, {high:,}{')' if below_high else ']'}" if isinstance(high, int) else \
        f"in [{low}, {high}{')' if below_high else ']'}"
