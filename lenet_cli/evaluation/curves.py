"""Training curves: one run's loss and accuracy per epoch (the best epoch marked), or several runs compared.

Drawn with matplotlib in the slide style of ``_drawing``; matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

from ._drawing import colormap, in_slide_style, new_figure, save_figure

__all__ = ["best_epoch", "curves_figure", "draw_curves", "draw_runs"]

# split -> (colour, line style); the same colours in every chart (matplotlib's default cycle)
_SPLITS = {"train": ("#1f77b4", ":"), "val": ("#2ca02c", "-"), "test": ("#d62728", "--")}
_SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}
# the loss a run trained with (run.json's "loss") -> the loss panel's title
_LOSS_TITLES = {"cross-entropy": "loss (cross-entropy)", "eq9": "loss (the paper's eq. 9)",
                "mse": "loss (the paper's eq. 8)", "loss": "loss"}


def best_epoch(history: list[dict[str, Any]]) -> int | None:
    """The epoch validation chose (the first with the highest accuracy), or None without a validation split."""
    scored = [(row["val_acc"], -row["epoch"]) for row in history if _finite(row.get("val_acc"))]
    return -max(scored)[1] if scored else None


def draw_curves(history: list[dict[str, Any]], path: Path, title: str = "", loss: str = "cross-entropy") -> None:
    """curves.png: ``curves_figure`` saved; nothing is written when there is no epoch yet."""
    if history:
        save_figure(curves_figure(history, title, loss), path)


@in_slide_style
def curves_figure(history: list[dict[str, Any]], title: str = "", loss: str = "cross-entropy") -> Any:
    """Loss and accuracy per epoch for train, validation and test; the best epoch marked (``history``: one
    row per epoch, at least one)."""
    figure, (loss_axes, acc_axes) = new_figure(ncols=2)
    best = best_epoch(history)
    for split in _SPLITS:
        colour, _ = _SPLITS[split]
        label = _SPLIT_NAMES[split]
        _plot(loss_axes, history, f"{split}_loss", colour, "-", label)
        _plot(acc_axes, history, f"{split}_acc", colour, "-", label, scale=100)
    _finish_axes(loss_axes, acc_axes, history, _settled(history), best, loss)
    if best is not None:
        row = next(r for r in history if r["epoch"] == best)
        test = f"{row['test_acc']:.2%}" if _finite(row.get("test_acc")) else "not measured"
        acc_axes.annotate(f"best (validation): epoch {best}\nval {row['val_acc']:.2%}, test {test}",
                          xy=(best, 100 * row["val_acc"]), xytext=(0.98, 0.04), textcoords="axes fraction",
                          ha="right", va="bottom", fontsize=12,
                          bbox={"boxstyle": "round", "fc": "white", "ec": "#999999"})
    figure.legend(*acc_axes.get_legend_handles_labels(), loc="outside lower center", ncols=3)  # off the lines
    figure.suptitle(title or f"{len(history)} epoch{'s' if len(history) != 1 else ''}", fontsize=15)
    return figure


@in_slide_style
def draw_runs(runs: Iterable[tuple[str, list[dict[str, Any]]]], path: Path, title: str = "",
              loss: str = "loss") -> None:
    """Several runs' curves on one chart, a colour per run; validation solid, test dashed, train dotted."""
    from matplotlib.lines import Line2D

    figure, (loss_axes, acc_axes) = new_figure(ncols=2)
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
    save_figure(figure, path)


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
    palette = [colormap("tab10")(i) for i in range(10)] + [colormap("tab20")(i) for i in range(1, 20, 2)]
    while True:
        yield from palette
