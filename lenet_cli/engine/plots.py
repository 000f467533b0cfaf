"""Evaluation pictures drawn with Pillow: a confusion matrix and a grid of confident mistakes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .checkpoint import atomic_write_bytes

__all__ = ["draw_confusion_matrix", "draw_mistakes"]


def _save(image, path: Path) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def draw_confusion_matrix(confusion: list[list[int]], classes: list[str], path: Path, title: str = "") -> None:
    """Rows are true classes, columns predicted; cells shaded by row-normalised share."""
    from PIL import Image, ImageDraw

    n = len(classes)
    cell = max(18, min(48, 640 // max(n, 1)))
    left, top = 110, 60
    image = Image.new("RGB", (left + n * cell + 20, top + n * cell + 40), "white")
    draw = ImageDraw.Draw(image)
    matrix = np.asarray(confusion, dtype=np.float64)
    shares = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    draw.text((10, 10), title or "confusion matrix (rows: true, columns: predicted)", fill="black")
    for i in range(n):
        draw.text((10, top + i * cell + cell // 2 - 6), classes[i][:14], fill="black")
        draw.text((left + i * cell + 2, top - 16), classes[i][:max(1, cell // 7)], fill="black")
        for j in range(n):
            shade = int(255 - 200 * shares[i, j])
            colour = (shade, shade, 255) if i == j else (255, shade, shade)
            x0, y0 = left + j * cell, top + i * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=colour, outline=(220, 220, 220))
            if matrix[i, j] and cell >= 30:
                draw.text((x0 + 3, y0 + cell // 2 - 6), str(int(matrix[i, j])), fill="black")
    _save(image, path)


def draw_mistakes(images: np.ndarray, true: list[str], predicted: list[str], confidence: list[float],
                  path: Path, columns: int = 8) -> None:
    """``images``: uint8 N x C x H x W, each drawn 3x with 'true -> predicted (p)' under it."""
    from PIL import Image, ImageDraw

    count = len(images)
    if count == 0:
        image = Image.new("RGB", (320, 40), "white")
        ImageDraw.Draw(image).text((10, 12), "no mistakes", fill="black")
        _save(image, path)
        return
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
    _save(sheet, path)
