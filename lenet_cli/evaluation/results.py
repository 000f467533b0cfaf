"""How a model did on a split: the confusion matrix and the most confident mistakes.

The confusion matrix is a chart (matplotlib, in the slide style of ``_drawing``); the mistakes are a sheet of
the images themselves (Pillow). Both libraries are imported only when a picture is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._drawing import colormap, in_slide_style, new_figure, save_figure, save_png

__all__ = ["confusion_figure", "draw_confusion_matrix", "draw_mistakes", "mistakes_sheet"]


def draw_confusion_matrix(confusion: list[list[int]], classes: list[str], path: Path, title: str = "") -> None:
    """confusion.png: ``confusion_figure`` saved."""
    save_figure(confusion_figure(confusion, classes, title), path)


@in_slide_style
def confusion_figure(confusion: list[list[int]], classes: list[str], title: str = "") -> Any:
    """Counts in every cell; errors on a log colour scale (with its bar) so that a handful stands out.

    Rows are the true classes, columns the predicted ones; the diagonal (right answers) is blue.
    """
    from matplotlib.colors import LogNorm
    from matplotlib.cm import ScalarMappable
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

    matrix = np.asarray(confusion, dtype=np.int64)
    n = len(classes)
    errors = matrix.copy()
    np.fill_diagonal(errors, 0)
    norm = LogNorm(vmin=1, vmax=max(2, int(errors.max())))
    side = min(14.0, max(6.5, 0.42 * n + 3))
    figure, axes = new_figure(size=(side + 1.6, side))
    reds, blues = colormap("Reds"), colormap("Blues")
    colours = np.ones((n, n, 4))
    wrong = errors > 0
    colours[wrong] = reds(0.15 + 0.85 * norm(errors[wrong]))
    diagonal = np.arange(n)
    colours[diagonal, diagonal] = blues(0.55)
    axes.imshow(colours, interpolation="nearest")
    _label_cells(axes, matrix, colours, n)
    axes.set_xticks(range(n), [c[:10] for c in classes], rotation=90 if n > 12 or max(map(len, classes)) > 3 else 0)
    axes.set_yticks(range(n), [c[:14] for c in classes])
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.grid(False)
    axes.set_xticks(np.arange(-0.5, n, 1), minor=True)
    axes.set_yticks(np.arange(-0.5, n, 1), minor=True)
    axes.grid(which="minor", color="#dddddd", linewidth=0.8)
    axes.tick_params(which="minor", length=0)
    bar = figure.colorbar(ScalarMappable(norm=norm, cmap=reds), ax=axes, fraction=0.046, pad=0.03)
    bar.set_label("wrong answers in the cell (log scale)")
    steps = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000) if t <= norm.vmax]
    bar.ax.yaxis.set_major_locator(FixedLocator(steps))  # counts, not 4 x 10^0
    bar.ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    bar.ax.yaxis.set_minor_locator(NullLocator())
    total, right = int(matrix.sum()), int(np.trace(matrix))
    accuracy = right / total if total else float("nan")
    axes.set_title(title or f"accuracy {accuracy:.2%}: {total - right:,} wrong of {total:,}")
    return figure


def _label_cells(axes: Any, matrix: np.ndarray, colours: np.ndarray, n: int) -> None:
    """Each non-zero count in its cell, white on dark cells; zeros left blank so the errors stand out."""
    size = 12 if n <= 12 else 9 if n <= 26 else 6
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                dark = colours[i, j, :3] @ np.array([0.299, 0.587, 0.114]) < 0.55
                axes.text(j, i, f"{matrix[i, j]:,}", ha="center", va="center", fontsize=size,
                          color="white" if dark else "black")


def draw_mistakes(images: np.ndarray, true: list[str], predicted: list[str], confidence: list[float],
                  path: Path, columns: int = 8) -> None:
    """mistakes.png: ``mistakes_sheet`` saved."""
    save_png(mistakes_sheet(images, true, predicted, confidence, columns), path)


def mistakes_sheet(images: np.ndarray, true: list[str], predicted: list[str], confidence: list[float],
                   columns: int = 8) -> Any:
    """A Pillow sheet of ``images`` (uint8 N x C x H x W), each drawn 3x with 'true -> predicted (p)' under it."""
    from PIL import Image, ImageDraw

    count = len(images)
    if count == 0:
        image = Image.new("RGB", (320, 40), "white")
        ImageDraw.Draw(image).text((10, 12), "no mistakes", fill="black")
        return image
    scale = 3
    h, w = images.shape[2] * scale, images.shape[3] * scale
    tile_w, tile_h = max(w, 96) + 8, h + 30
    rows = (count + columns - 1) // columns
    sheet = Image.new("RGB", (columns * tile_w, rows * tile_h), "white")
    draw = ImageDraw.Draw(sheet)
    for k in range(count):
        picture = images[k].transpose(1, 2, 0)
        mode = "L" if picture.shape[2] == 1 else "RGB"
        tile = Image.fromarray(picture.squeeze(2) if mode == "L" else picture, mode).resize((w, h), Image.NEAREST)
        x, y = (k % columns) * tile_w + 4, (k // columns) * tile_h + 2
        sheet.paste(tile.convert("RGB"), (x, y))
        draw.text((x, y + h + 2), f"{true[k][:6]}->{predicted[k][:6]}", fill=(180, 0, 0))
        draw.text((x, y + h + 14), f"p={confidence[k]:.2f}", fill="black")
    return sheet
