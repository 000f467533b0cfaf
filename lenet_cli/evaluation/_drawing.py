"""What the result pictures share: matplotlib's slide style, figures and saving; saving a Pillow image.

matplotlib is imported inside these functions (Agg canvas, no pyplot and its global state), so commands
that draw nothing, ``--help`` and predict, never pay for the import. Sizes are for a slide: 100 dpi,
text of 12 pt and more.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any, Callable

from ..files import atomic_write_bytes

__all__ = ["colormap", "in_slide_style", "new_figure", "save_figure", "save_png"]

_STYLE = {
    "font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "legend.fontsize": 12,
    "xtick.labelsize": 12, "ytick.labelsize": 12, "axes.grid": True, "grid.alpha": 0.35,
    "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100, "savefig.dpi": 100,
}


def in_slide_style(draw: Callable[..., None]) -> Callable[..., None]:
    """Draw inside matplotlib's rc context of ``_STYLE`` (text sizes, grid), leaving global settings alone."""

    @functools.wraps(draw)
    def styled(*args: Any, **kwargs: Any) -> None:
        import matplotlib

        with matplotlib.rc_context(_STYLE):
            draw(*args, **kwargs)

    return styled


def colormap(name: str) -> Any:
    """matplotlib's colormap called ``name``."""
    from matplotlib import colormaps

    return colormaps[name]


def new_figure(ncols: int = 1, size: tuple[float, float] | None = None) -> tuple[Any, Any]:
    """A figure on an Agg canvas, and its axes (drawn inside ``in_slide_style``)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size or (5.2 * ncols, 4.4), layout="constrained")  # 1040 px wide: a docs column, a slide
    return figure, figure.subplots(1, ncols)


def save_figure(figure: Any, path: Path) -> None:
    """The figure as a PNG, through the one atomic writer."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())


def save_png(image, path: Path) -> None:
    """A Pillow image as a PNG file, through the one atomic writer."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
