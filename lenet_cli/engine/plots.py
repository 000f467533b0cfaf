"""Evaluation pictures drawn with Pillow: a confusion matrix and a grid of confident mistakes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .checkpoint import atomic_write_bytes

__all__ = ["draw_confusion_matrix", "draw_inspection", "draw_mistakes"]


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


def _shade(values: np.ndarray) -> np.ndarray:
    """Float array -> uint8, high values dark (ink on paper), scaled over the whole array."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return (255 - 255 * scaled).astype(np.uint8)


def draw_inspection(inspection, path: Path) -> None:
    """One picture of a forward pass: the input, every layer's maps or units, the class scores.

    ``inspection`` is an ``engine.inspection.Inspection``. Each layer is shaded over
    its own range, so a layer's maps can be compared with each other.
    """
    from PIL import Image, ImageDraw

    margin, label_w, gap, per_row = 10, 150, 4, 16
    rows: list[tuple[str, list[Image.Image]]] = []

    def tiles_for(values: np.ndarray, side: int = 56) -> list[Image.Image]:
        if values.ndim == 3 and values.shape[1] * values.shape[2] > 1:
            shaded = _shade(values)
            scale = max(1, round(side / values.shape[1]))
            return [Image.fromarray(m).resize((m.shape[1] * scale, m.shape[0] * scale), Image.NEAREST)
                    for m in shaded]
        flat = _shade(values.reshape(-1))  # units: one strip of cells, 120 to a line
        strips = [flat[i : i + 120] for i in range(0, len(flat), 120)]
        return [Image.fromarray(np.repeat(s[None], 16, 0)).resize((len(s) * 6, 16), Image.NEAREST) for s in strips]

    rows.append(("input", tiles_for(inspection.model_input, side=96)))
    for layer in inspection.layers:
        rows.append((f"{layer.label} {tuple(layer.values.shape)}", tiles_for(layer.values)))

    def row_size(tiles: list[Image.Image]) -> tuple[int, int]:
        lines = [tiles[i : i + per_row] for i in range(0, len(tiles), per_row)]
        width = max(sum(t.width + gap for t in line) for line in lines)
        return width, sum(max(t.height for t in line) + gap for line in lines)

    n = len(inspection.classes)
    bar_h = 14
    sizes = [row_size(tiles) for _, tiles in rows]
    width = max(640, label_w + max(w for w, _ in sizes) + 2 * margin)
    height = 36 + sum(h + 10 for _, h in sizes) + 24 + n * (bar_h + 2) + margin
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    p = inspection.prediction
    draw.text((margin, margin), f"{inspection.model}: {Path(inspection.path).name} -> {p.class_name} "
              f"({p.probability:.1%})", fill="black")
    y = 36
    for (label, tiles), (_, h) in zip(rows, sizes):
        draw.text((margin, y), label, fill="black")
        x, line_h = label_w, 0
        for k, tile in enumerate(tiles):
            if k and k % per_row == 0:
                x, y, line_h = label_w, y + line_h + gap, 0
            sheet.paste(tile.convert("RGB"), (x, y))
            x, line_h = x + tile.width + gap, max(line_h, tile.height)
        y += line_h + gap + 10
    draw.text((margin, y), "output (softmax of the scores)", fill="black")
    y += 20
    scores = np.asarray(inspection.scores, dtype=np.float64)
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    for i, name in enumerate(inspection.classes):
        colour = (200, 40, 40) if i == p.label else (90, 90, 200)
        draw.text((margin, y), name[:20], fill="black")
        draw.rectangle([label_w, y + 1, label_w + int(300 * probabilities[i]), y + bar_h - 2], fill=colour)
        draw.text((label_w + 306, y), f"{probabilities[i]:.3f}  score {scores[i]:.3g}", fill="black")
        y += bar_h + 2
    _save(sheet, path)
