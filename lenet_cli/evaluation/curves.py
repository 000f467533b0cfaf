"""curves.png: loss and accuracy per epoch, drawn with Pillow (already a dependency).

matplotlib would add ~30 MB and a slow import for two line charts; these plots
need only lines, ticks and labels.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from ..checkpoint import atomic_write_bytes

__all__ = ["draw_curves"]

_SERIES = {  # panel -> (column, colour, label)
    "loss": [("train_loss", (31, 119, 180), "train"), ("val_loss", (44, 160, 44), "val"),
             ("test_loss", (214, 39, 40), "test")],
    "accuracy": [("train_acc", (31, 119, 180), "train"), ("val_acc", (44, 160, 44), "val"),
                 ("test_acc", (214, 39, 40), "test")],
}


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def draw_curves(history: list[dict[str, Any]], path: Path, width: int = 1000, height: int = 420) -> None:
    """Two panels side by side; nothing is written when there is no epoch yet."""
    from PIL import Image, ImageDraw

    if not history:
        return
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    panel_w = width // 2
    for index, (title, series) in enumerate(_SERIES.items()):
        x0, y0, x1, y1 = index * panel_w + 60, 40, (index + 1) * panel_w - 20, height - 50
        values = [row[c] for row in history for c, _, _ in series if row.get(c) is not None and math.isfinite(row[c])]
        if not values:
            continue
        low, high = min(values), max(values)
        pad = (high - low) * 0.05 or 0.01
        low, high = low - pad, high + pad
        epochs = [row["epoch"] for row in history]
        first, last = min(epochs), max(epochs)

        def to_xy(epoch: float, value: float) -> tuple[float, float]:
            fx = 0.5 if last == first else (epoch - first) / (last - first)
            return x0 + fx * (x1 - x0), y1 - (value - low) / (high - low) * (y1 - y0)

        draw.rectangle([x0, y0, x1, y1], outline=(120, 120, 120))
        draw.text((x0, 15), f"{title} per epoch", fill="black")
        for tick in _ticks(low, high):
            _, ty = to_xy(first, tick)
            draw.line([x0 - 4, ty, x0, ty], fill="black")
            draw.text((x0 - 56, ty - 6), f"{tick:.4f}", fill="black")
        for epoch in sorted(set(epochs))[:: max(1, len(epochs) // 10)]:
            tx, _ = to_xy(epoch, low)
            draw.line([tx, y1, tx, y1 + 4], fill="black")
            draw.text((tx - 4, y1 + 8), str(epoch), fill="black")
        draw.text(((x0 + x1) // 2 - 15, height - 20), "epoch", fill="black")
        legend_x = x1 - 150  # legend above the plot box, right-aligned: never over the lines
        for column, colour, label in series:
            points = [to_xy(row["epoch"], row[column]) for row in history
                      if row.get(column) is not None and math.isfinite(row[column])]
            if not points:
                continue
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            for px, py in points:
                draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=colour)
            draw.line([legend_x, 21, legend_x + 16, 21], fill=colour, width=2)
            draw.text((legend_x + 19, 15), label, fill="black")
            legend_x += 52
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
