"""How results look in a notebook: small HTML tables and pictures inline as PNG (Jupyter's ``_repr_html_``).

Every text is escaped, so a file name cannot inject markup into the page. Nothing here imports torch;
NumPy and Pillow load only when a picture is drawn.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any, Iterable, Sequence

__all__ = ["table_html", "image_html", "percent", "side_by_side", "titled"]

_TABLE = "border-collapse:collapse;margin:0.3em 0"
_CELL = "padding:0.15em 0.6em;text-align:{align};border-bottom:1px solid #ddd"


def percent(value: float | None, digits: int = 2) -> str:
    """0.9876 as '98.76 %'; None (not measured) as an empty cell."""
    return "" if value is None else f"{value:.{digits}%}"


def table_html(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str = "",
               numeric: Iterable[int] = (), bold_rows: Iterable[int] = (), raw: Iterable[int] = ()) -> str:
    """A plain table: ``numeric`` column indices align right, ``bold_rows`` are emphasised, and cells of the
    ``raw`` columns are HTML already (pictures); every other cell is escaped text."""
    right, bold, markup = set(numeric), set(bold_rows), set(raw)

    def cell(tag: str, value: Any, column: int, row: int = -1) -> str:
        style = _CELL.format(align="right" if column in right else "left") + (";font-weight:bold" if row in bold else "")
        text = value if column in markup else html.escape("" if value is None else str(value))
        return f'<{tag} style="{style}">{text}</{tag}>'

    head = "".join(cell("th", name, k) for k, name in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", value, k, i) for k, value in enumerate(row)) + "</tr>"
                   for i, row in enumerate(rows))
    title = f'<caption style="text-align:left;font-weight:bold">{html.escape(caption)}</caption>' if caption else ""
    # a class of its own: themes that style bare tables (the docs site's) leave this compact one alone
    return f'<table class="lenet" style="{_TABLE}">{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def image_html(image: Any, height: int = 84, title: str = "") -> str:
    """A uint8 picture (C x H x W, or H x W) as an inline PNG ``height`` pixels tall, its pixels kept sharp."""
    import numpy as np
    from PIL import Image

    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 3:
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(title)}" title="{html.escape(title)}" '
            f'style="height:{height}px;image-rendering:pixelated;border:1px solid #bbb">')


def titled(title: str, *parts: str) -> str:
    """A bold line of text over the given HTML parts."""
    return f'<div><div style="font-weight:bold">{html.escape(title)}</div>{"".join(parts)}</div>'


def side_by_side(*parts: str) -> str:
    """Blocks in a row where the page is wide enough, one under the other where it is not; none is squeezed."""
    blocks = "".join(f'<div style="flex:none">{part}</div>' for part in parts)
    return f'<div style="display:flex;flex-wrap:wrap;gap:0 2em;align-items:flex-start">{blocks}</div>'
