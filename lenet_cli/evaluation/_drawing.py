"""What the result pictures share: matplotlib's slide style, figures and saving; saving a Pillow image.

matplotlib is imported inside these functions (Agg canvas, no pyplot and its global state), so commands
that draw nothing, ``--help`` and predict, never pay for the import. Sizes are for a slide: 100 dpi,
text of 12 pt and more. The figures show themselves in a notebook (``_repr_png_``), with or without pyplot.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any, Callable, TypeVar

from ..files import atomic_write_bytes

__all__ = ["colormap", "figure_png", "image_figure", "in_slide_style", "new_figure", "save_figure", "save_png"]

Drawn = TypeVar("Drawn")

_STYLE = {
    "font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "legend.fontsize": 12,
    "xtick.labelsize": 12, "ytick.labelsize": 12, "axes.grid": True, "grid.alpha": 0.35,
    "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100, "savefig.dpi": 100,
}


def in_slide_style(draw: Callable[..., Drawn]) -> Callable[..., Drawn]:
    """Draw inside matplotlib's rc context of ``_STYLE`` (text sizes, grid), leaving global settings alone.

    A figure that ``draw`` returns is laid out once inside the context, so that its tick labels take the
    style's sizes wherever it is rendered later (a notebook, ``savefig``)."""

    @functools.wraps(draw)
    def styled(*args: Any, **kwargs: Any) -> Drawn:
        import matplotlib

        with matplotlib.rc_context(_STYLE):
            drawn = draw(*args, **kwargs)
            if hasattr(drawn, "draw_without_rendering"):
                drawn.draw_without_rendering()
        return drawn

    return styled


def colormap(name: str) -> Any:
    """matplotlib's colormap called ``name``."""
    from matplotlib import colormaps

    return colormaps[name]


@functools.cache
def _figure_class() -> type:
    """matplotlib's Figure, shown as a PNG by Jupyter (a bare Figure shows only as text there without pyplot)."""
    from matplotlib.figure import Figure

    class ShownFigure(Figure):
        def _repr_png_(self) -> bytes:
            return figure_png(self)

    ShownFigure.__qualname__ = ShownFigure.__name__ = "Figure"
    return ShownFigure


def new_figure(ncols: int = 1, size: tuple[float, float] | None = None) -> tuple[Any, Any]:
    """A figure on an Agg canvas, and its axes (drawn inside ``in_slide_style``)."""
    figure = _figure_class()(figsize=size or (5.2 * ncols, 4.4), layout="constrained")  # 1040 px: a docs column
    return figure, figure.subplots(1, ncols)


def image_figure(image: Any) -> Any:
    """A Pillow image as a figure of exactly its pixels (100 dpi, no axes): a picture sheet in a notebook."""
    import numpy as np

    figure = _figure_class()(figsize=(image.width / 100, image.height / 100), dpi=100)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.imshow(np.asarray(image.convert("RGB")), interpolation="nearest")
    axes.set_axis_off()
    return figure


def figure_png(figure: Any) -> bytes:
    """The figure as PNG bytes, rendered in the slide style."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(_STYLE):
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def save_figure(figure: Any, path: Path) -> None:
    """The figure as a PNG, through the one atomic writer."""
    atomic_write_bytes(path, figure_png(figure))


def save_png(image, path: Path) -> None:
    """A Pillow image as a PNG file, through the one atomic writer."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
