"""Charts drawn with matplotlib: training curves, several runs compared, the confusion matrix.

matplotlib is imported inside the drawing functions (Agg canvas, no pyplot and its global
state), so commands that draw nothing, ``--help`` and predict, never pay for the import.
Sizes are for a slide: 100 dpi, text of 12 pt and more.
"""

from __future__ import annotations

import functools
import io
import math
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..files import atomic_write_bytes

__all__ = ["best_epoch", "draw_curves", "draw_runs", "draw_confusion_matrix"]

_STYLE = {
    "font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "legend.fontsize": 12,
    "xtick.labelsize": 12, "ytick.labelsize": 12, "axes.grid": True, "grid.alpha": 0.35,
    "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100, "savefig.dpi": 100,
}
# split -> (colour, line style); the same colours in every chart (matplotlib's default cycle)
_SPLITS = {"train": ("#1f77b4", ":"), "val": ("#2ca02c", "-"), "test": ("#d62728", "--")}
_SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}
# the loss a run trained with (run.json's "loss") -> the loss panel's title
_LOSS_TITLES = {"cross-entropy": "loss (cross-entropy)", "eq9": "loss (the paper's eq. 9)",
                "mse": "loss (the paper's eq. 8)", "loss": "loss"}


def _in_slide_style(draw: Callable[..., None]) -> Callable[..., None]:
    """Draw inside matplotlib's rc context of ``_STYLE`` (text sizes, grid), leaving global settings alone."""

    @functools.wraps(draw)
    def styled(*args: Any, **kwargs: Any) -> None:
        import matplotlib

        with matplotlib.rc_context(_STYLE):
            draw(*args, **kwargs)

    return styled


def best_epoch(history: list[dict[str, Any]]) -> int | None:
    """The epoch validation chose (the first with the highest accuracy), or None without a validation split."""
    scored = [(row["val_acc"], -row["epoch"]) for row in history if _finite(row.get("val_acc"))]
    return -max(scored)[1] if scored else None


@_in_slide_style
def draw_curves(history: list[dict[str, Any]], path: Path, title: str = "", loss: str = "cross-entropy") -> None:
    """curves.png: loss and accuracy per epoch for train, validation and test; the best epoch marked.

    Nothing is written when there is no epoch yet.
    """
    if not history:
        return
    figure, (loss_axes, acc_axes) = _figure(ncols=2)
    best = best_epoch(history)
    for split in _SPLITS:
        colour, _ = _SPLITS[split]
        label = _SPLIT_NAMES[split]
        _plot(loss_axes, history, f"{split}_loss", colour, "-", label)
        _plot(acc_axes, history, f"{split}_acc", colour, "-", label, scale=100)
    _finish_axes(loss_axes, acc_axes, history, _settled(history), best, loss)
    if best is not None:
        row = next(r for r in history if r["epoch"] == best)
        acc_axes.annotate(f"best (validation): epoch {best}\nval {row['val_acc']:.2%}, test {row['test_acc']:.2%}",
                          xy=(best, 100 * row["val_acc"]), xytext=(0.98, 0.04), textcoords="axes fraction",
                          ha="right", va="bottom", fontsize=12,
                          bbox={"boxstyle": "round", "fc": "white", "ec": "#999999"})
    figure.legend(*acc_axes.get_legend_handles_labels(), loc="outside lower center", ncols=3)  # off the lines
    figure.suptitle(title or f"{len(history)} epoch{'s' if len(history) != 1 else ''}", fontsize=15)
    _save(figure, path)


@_in_slide_style
def draw_runs(runs: Iterable[tuple[str, list[dict[str, Any]]]], path: Path, title: str = "",
              loss: str = "loss") -> None:
    """Several runs' curves on one chart, a colour per run; validation solid, test dashed, train dotted."""
    from matplotlib.lines import Line2D

    figure, (loss_axes, acc_axes) = _figure(ncols=2)
    histories, handles = [], []
    colours = _colours()
    for name, history in runs:
        colour = next(colours)
        histories.append(history)
        for split, (_, style) in _SPLITS.items():
            _plot(loss_axes, history, f"{split}_loss", colour, style, None, thin=split == "train")
            _plot(acc_axes, history, f"{split}_acc", colour, style, None, scale=100, thin=split == "train")
        handles.append(Line2D([], [], color=colour, lw=2.5, label=name))
    merged = [row for history in histories for row in history]
    # Compared runs are read on validation and test: those set the accuracy axis; a low train start runs below it.
    settled = [{**row, "train_acc": None} for history in histories for row in _settled(history)]
    _finish_axes(loss_axes, acc_axes, merged, settled, None, loss)
    styles = [Line2D([], [], color="#444444", ls=style, lw=2, label=_SPLIT_NAMES[split])
              for split, (_, style) in _SPLITS.items()
              if any(_finite(row.get(f"{split}_acc")) for row in merged)]
    acc_axes.legend(handles=handles, loc="lower right", title="run")
    loss_axes.legend(handles=styles, loc="upper right", title="split")
    figure.suptitle(title or f"{len(histories)} runs compared", fontsize=15)
    _save(figure, path)


@_in_slide_style
def draw_confusion_matrix(confusion: list[list[int]], classes: list[str], path: Path, title: str = "") -> None:
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
    figure, axes = _figure(size=(side + 1.6, side))
    reds, blues = _colormap("Reds"), _colormap("Blues")
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
    _save(figure, path)


def _label_cells(axes: Any, matrix: np.ndarray, colours: np.ndarray, n: int) -> None:
    """Each non-zero count in its cell, white on dark cells; zeros left blank so the errors stand out."""
    size = 12 if n <= 12 else 9 if n <= 26 else 6
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                dark = colours[i, j, :3] @ np.array([0.299, 0.587, 0.114]) < 0.55
                axes.text(j, i, f"{matrix[i, j]:,}", ha="center", va="center", fontsize=size,
                          color="white" if dark else "black")


def _finish_axes(loss_axes: Any, acc_axes: Any, rows: list[dict[str, Any]], settled: list[dict[str, Any]],
                 best: int | None, loss: str) -> None:
    """Titles, integer epoch ticks, loss from 0, accuracy in percent never above 100 % (its range from the
    ``settled`` rows), the best epoch marked."""
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in rows]
    first, last = min(epochs), max(epochs)
    for axes, title in ((loss_axes, _LOSS_TITLES.get(loss, f"loss ({loss})")), (acc_axes, "accuracy")):
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        pad = max(0.25, 0.02 * (last - first))  # the first and last points are not cut by the frame
        axes.set_xlim(first - pad, last + pad)
        if best is not None:
            axes.axvline(best, color="#555555", lw=1.2, ls="--", zorder=0)
    loss_axes.set_ylim(bottom=0)
    accuracies = [100 * row[f"{s}_acc"] for row in settled for s in _SPLITS if _finite(row.get(f"{s}_acc"))]
    if accuracies:
        low, high = min(accuracies), max(accuracies)
        margin = max(0.2, 0.08 * (high - low))
        acc_axes.set_ylim(max(0.0, low - margin), min(100.0, high + margin))
    _percent_ticks(acc_axes)


def _percent_ticks(axes: Any) -> None:
    """Ticks at round steps (0.2, 0.5, 1, 2, 5 ... points), labelled with just the decimals the step needs."""
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    locator = MaxNLocator(nbins=7, steps=[1, 2, 5, 10])
    axes.yaxis.set_major_locator(locator)
    ticks = locator.tick_values(*axes.get_ylim())
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    axes.yaxis.set_major_formatter(PercentFormatter(decimals=max(0, -math.floor(math.log10(step) + 1e-9))))


def _settled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows that set the accuracy axis: from four epochs on, the first tenth of the run (at least epoch 1)
    is left out, so that a low start (34 % after one epoch) does not squash the last epochs' 99.x % into a line;
    those first points run below the frame."""
    epochs = sorted({row["epoch"] for row in rows})
    if len(epochs) < 4:
        return rows
    first = epochs[max(1, len(epochs) // 10)]
    return [row for row in rows if row["epoch"] >= first]


def _plot(axes: Any, history: list[dict[str, Any]], column: str, colour: str, style: str, label: str | None,
          scale: float = 1.0, thin: bool = False) -> None:
    points = [(row["epoch"], scale * row[column]) for row in history if _finite(row.get(column))]
    if points:
        x, y = zip(*points)
        axes.plot(x, y, color=colour, ls=style, lw=1.5 if thin else 2.2, marker="o" if len(points) <= 30 else None,
                  markersize=4, label=label)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _colours() -> Iterable[str]:
    """Distinct colours, one per run (tab10, then tab20's lighter half)."""
    palette = [_colormap("tab10")(i) for i in range(10)] + [_colormap("tab20")(i) for i in range(1, 20, 2)]
    while True:
        yield from palette


def _colormap(name: str) -> Any:
    from matplotlib import colormaps

    return colormaps[name]


def _figure(ncols: int = 1, size: tuple[float, float] | None = None) -> tuple[Any, Any]:
    """A figure on an Agg canvas, and its axes (drawn inside ``_in_slide_style``)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size or (5.2 * ncols, 4.4), layout="constrained")  # 1040 px wide: a docs column, a slide
    return figure, figure.subplots(1, ncols)


def _save(figure: Any, path: Path) -> None:
    """The figure as a PNG, through the one atomic writer."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
