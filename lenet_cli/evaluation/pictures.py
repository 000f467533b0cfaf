"""What a model sees, drawn with Pillow where images are the content: a forward pass layer by layer, and the
steps from a picture to the model's input.

``save_png`` (from ``_drawing``) writes any Pillow image the same way, through the one atomic writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._drawing import save_png

__all__ = ["draw_inspection", "draw_preparation", "draw_row_graph", "inspection_sheet", "save_png"]


def _shade(values: np.ndarray) -> np.ndarray:
    """Float array -> uint8, high values dark (ink on paper), scaled over the whole array."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return (255 - 255 * scaled).astype(np.uint8)


_MARGIN, _LABEL_W, _GAP, _ROW_W, _BAR_H, _TEXT = 12, 170, 6, 540, 20, 16
_LABEL_H = 3 * _TEXT + 14  # a row is at least as tall as its three lines of label


def _tiles(values: np.ndarray, side: int = 56) -> list:
    """A layer's maps as square tiles about ``side`` pixels wide, or its units as strips of 120 cells."""
    from PIL import Image

    if values.ndim == 3 and values.shape[1] * values.shape[2] > 1:
        scale = max(1, round(side / values.shape[1]))
        return [Image.fromarray(m).resize((m.shape[1] * scale, m.shape[0] * scale), Image.NEAREST)
                for m in _shade(values)]
    flat = _shade(values.reshape(-1))
    strips = [flat[i : i + 120] for i in range(0, len(flat), 120)]
    return [Image.fromarray(np.repeat(s[None], 16, 0)).resize((len(s) * 4, 16), Image.NEAREST) for s in strips]


def _lines(tiles: list) -> list[list]:
    """Tiles wrapped into lines no wider than ``_ROW_W`` pixels (at least one tile per line)."""
    lines: list[list] = [[]]
    width = 0
    for tile in tiles:
        if lines[-1] and width + tile.width > _ROW_W:
            lines.append([])
            width = 0
        lines[-1].append(tile)
        width += tile.width + _GAP
    return lines


def _row_size(tiles: list) -> tuple[int, int]:
    """Width and height of a layer's tiles once wrapped into lines."""
    lines = _lines(tiles)
    width = max(sum(t.width + _GAP for t in line) for line in lines)
    return width, sum(max(t.height for t in line) + _GAP for line in lines)


def _font(size: int = _TEXT):
    """Pillow's scalable default font (Pillow >= 10.1), so labels are readable at any size."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _paste_row(sheet, draw, label: str, tiles: list, y: int) -> int:
    """One labelled row of framed tiles at height ``y``; returns the height below it.

    ``label``'s first line is the layer's name; further lines (its kind, its size) come in smaller type.
    """
    name, *details = label.split("\n")
    draw.text((_MARGIN, y), name, fill="black", font=_font(_TEXT + 4))
    for k, detail in enumerate(details):
        draw.text((_MARGIN, y + _TEXT + 8 + k * (_TEXT + 1)), detail, fill=(80, 80, 80), font=_font(_TEXT - 2))
    top = y
    for line in _lines(tiles):
        x = _LABEL_W
        for tile in line:
            sheet.paste(tile.convert("RGB"), (x, y))
            draw.rectangle([x - 1, y - 1, x + tile.width, y + tile.height], outline=(140, 140, 140))
            x += tile.width + _GAP
        y += max(t.height for t in line) + _GAP
    return max(y, top + _LABEL_H) + 10


def _draw_output_bars(draw, inspection, y: int) -> None:
    """A bar per class for the softmax of the scores; the predicted class in red."""
    draw.text((_MARGIN, y), "output: softmax of the scores", fill="black", font=_font(_TEXT + 2))
    y += _TEXT + 14
    scores = np.asarray(inspection.scores, dtype=np.float64)
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    for i, name in enumerate(inspection.classes):
        colour = (200, 40, 40) if i == inspection.prediction.label else (90, 90, 200)
        draw.text((_MARGIN, y), name[:20], fill="black", font=_font())
        draw.rectangle([_LABEL_W, y + 2, _LABEL_W + max(1, int(300 * probabilities[i])), y + _BAR_H - 3], fill=colour)
        draw.text((_LABEL_W + 310, y), f"{probabilities[i]:.3f}  (score {scores[i]:.3g})", fill="black", font=_font())
        y += _BAR_H + 2


def draw_inspection(inspection, path: Path) -> None:
    """inspect-IMAGE.png: ``inspection_sheet`` saved."""
    save_png(inspection_sheet(inspection), path)


def inspection_sheet(inspection):
    """One Pillow picture of a forward pass: the input, every layer's maps or units, the class scores.

    ``inspection`` is an ``inference.inspection.Inspection``. Layers carry the paper's names
    (C1, S2, ...). Each layer is shaded over its own range, so a layer's maps can be compared
    with each other; every map has a frame.
    """
    from PIL import Image, ImageDraw

    rows = [("input\n" + "x".join(map(str, inspection.model_input.shape)), _tiles(inspection.model_input, side=96))]
    rows += [(f"{layer.label}\n{layer.kind}\n{_shape_text(layer.values.shape)}", _tiles(layer.values))
             for layer in inspection.layers]
    sizes = [_row_size(tiles) for _, tiles in rows]
    width = max(720, _LABEL_W + max(w for w, _ in sizes) + 2 * _MARGIN)
    height = (50 + sum(max(h, _LABEL_H) + 10 for _, h in sizes) + _TEXT + 14
              + len(inspection.classes) * (_BAR_H + 2) + 2 * _MARGIN)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    p = inspection.prediction
    draw.text((_MARGIN, _MARGIN), f"{inspection.model}: {Path(inspection.path).name} -> {p.class_name} "
              f"({p.probability:.1%})", fill="black", font=_font(_TEXT + 6))
    y = 50
    for label, tiles in rows:
        y = _paste_row(sheet, draw, label, tiles, y)
    _draw_output_bars(draw, inspection, y)
    return sheet


def _shape_text(shape: tuple[int, ...]) -> str:
    """6x28x28 maps as '6@28x28' (the paper's notation); units as their count."""
    return f"{shape[0]}@{shape[1]}x{shape[2]}" if len(shape) == 3 else f"{'x'.join(map(str, shape))} units"


PREPARATION_STEPS = (("picture", "the picture"), ("ink", "ink found"), ("rules removed", "rules removed"),
                     ("crop", "cropped"), ("model input", "what the model saw"))


def draw_preparation(stages: dict, path: Path, height: int = 160) -> None:
    """The steps from a picture to the model's input, side by side and labelled (``--save-preprocessed``).

    ``stages`` holds float arrays (0..1; the picture H x W x 3, the others H x W) and the uint8
    ``model input``, or for a number, ``digits``: each digit's input, drawn in a row.
    """
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=15)
    panels = []
    for key, title in PREPARATION_STEPS:
        if key == "model input" and "digits" in stages:
            panels.append((_digit_row([d[0] for d in stages["digits"]], height), "what the model saw"))
        elif key in stages:
            value = stages[key]
            array = value if value.dtype == np.uint8 else (np.clip(value, 0.0, 1.0) * 255).astype(np.uint8)
            picture = Image.fromarray(array[0] if array.ndim == 3 and array.shape[0] == 1 else array)
            resample = Image.NEAREST if key == "model input" else Image.BILINEAR
            scale = min(height / picture.height, 4 * height / picture.width)  # a long row of digits stays readable
            size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
            panels.append((picture.convert("RGB").resize(size, resample), title))
    gap = 12
    sheet = Image.new("RGB", (sum(p.width + gap for p, _ in panels) + gap, height + 36), "white")
    draw = ImageDraw.Draw(sheet)
    x = gap
    for panel, title in panels:
        sheet.paste(panel, (x, 8))
        draw.text((x, height + 12), title, fill="black", font=font)
        x += panel.width + gap
    save_png(sheet, path)


def _digit_row(digits: list[np.ndarray], height: int):
    """Each digit's uint8 input, enlarged to ``height``, in a row with thin gaps."""
    from PIL import Image

    if not digits:
        return Image.new("RGB", (height, height), "black")
    tiles = [Image.fromarray(d).resize((height, height), Image.NEAREST) for d in digits]
    row = Image.new("RGB", (len(tiles) * (height + 4) - 4, height), "white")
    for k, tile in enumerate(tiles):
        row.paste(tile.convert("RGB"), (k * (height + 4), 0))
    return row


_RISE = 16  # pixels an arc of the graph rises per piece it spans
_PATH_COLOURS = ((214, 39, 40), (31, 119, 180), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207))


def draw_row_graph(row, arcs, readings, classes: list[str], path: Path, height: int = 160) -> None:
    """A row read by recognition, drawn as LeCun et al. (1998) draw it (``--number --save-preprocessed``):
    the levelled writing with every candidate cut (grey: a gap, red: a cut through ink) and the chosen
    digits boxed; below, the segmentation graph, every candidate digit an arc between two cuts with the
    class the classifier gave it, the chosen path in colour; and the best readings with their scores."""
    from PIL import Image, ImageDraw

    scale = height / max(row.strength.shape[0], 1)
    width = max(1, round(row.strength.shape[1] * scale))
    writing = Image.fromarray((255 - 255 * np.clip(row.strength, 0, 1)).astype(np.uint8)).resize((width, height))
    font, small = _font(), _font(12)
    highest = _RISE * max((a.last - a.first + 1 for a in arcs), default=1)
    base = _MARGIN + height + 24 + highest  # the graph's nodes; its arcs rise above them
    sheet = Image.new("RGB", (width + 2 * _MARGIN, base + 24 + 20 * len(readings)), "white")
    sheet.paste(writing.convert("RGB"), (_MARGIN, _MARGIN))
    draw = ImageDraw.Draw(sheet)
    nodes = _node_positions(row)
    for cut, x in zip(row.cuts, nodes[1:-1]):
        colour = (160, 160, 160) if cut.kind == "gap" else (220, 60, 60)
        if cut.path is not None:
            points = [(_MARGIN + px * scale, _MARGIN + py * scale) for py, px in cut.path]
            draw.line(points, fill=colour, width=1)
        else:
            draw.line([(_MARGIN + x * scale, _MARGIN), (_MARGIN + x * scale, _MARGIN + height)], fill=colour)
    chosen = readings[0] if readings else None
    for k, (index, label) in enumerate(zip(chosen.arcs, chosen.labels) if chosen else []):
        x0, y0, x1, y1 = (v * scale + _MARGIN for v in arcs[index].box)
        colour = _PATH_COLOURS[k % len(_PATH_COLOURS)]
        draw.rectangle([x0, y0, x1, y1], outline=colour, width=2)
    on_path = set(chosen.arcs) if chosen else set()
    for index, arc in enumerate(arcs):  # the graph: arcs between the cuts they join, longer ones higher
        a, b = _MARGIN + nodes[arc.first - 1] * scale, _MARGIN + nodes[arc.last] * scale
        a, b = min(a, b), max(a, b) + 1  # overlapping pieces can put a cut left of the one before
        rise = _RISE * (arc.last - arc.first + 1)
        picked = index in on_path
        colour = _PATH_COLOURS[chosen.arcs.index(index) % len(_PATH_COLOURS)] if picked else (205, 205, 205)
        draw.arc([a, base - rise, b, base + rise], 180, 360, fill=colour, width=3 if picked else 1)
        if picked:
            label = chosen.labels[chosen.arcs.index(index)]
            draw.text(((a + b) / 2 - 4, base - rise - 16), classes[label], fill=colour, font=font)
    for x in nodes:
        draw.ellipse([_MARGIN + x * scale - 3, base - 3, _MARGIN + x * scale + 3, base + 3], fill="black")
    y = base + 14
    for rank, reading in enumerate(readings):
        number = "".join(classes[label] for label in reading.labels)
        draw.text((_MARGIN, y), f"{'read' if rank == 0 else 'or'}  {number}   score {reading.score:.2f}",
                  fill="black" if rank == 0 else (110, 110, 110), font=font if rank == 0 else small)
        y += 20
    save_png(sheet, path)


def _node_positions(row) -> list[float]:
    """Where the graph's nodes lie along the row (levelled pixels): its two ends and each cut."""
    edges = row.boxes
    inner = [(a[2] + b[0]) / 2 if cut.kind == "gap" else float(np.mean(cut.path[:, 1]))
             for a, b, cut in zip(edges, edges[1:], row.cuts)]
    return [float(edges[0][0]), *inner, float(edges[-1][2])]
