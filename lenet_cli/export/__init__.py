"""Export formats in one registry (``registry.py``), one module per format, and the verified exporter.

Importing this package registers the formats and does not import torch;
``exporter.export_checkpoint`` (which does) is imported where an export is made.
"""

from __future__ import annotations

# Each module registers its format; this order is the order of `--format` choices and the docs table.
from . import torchscript_format  # noqa: F401  isort: skip
from . import onnx_format  # noqa: F401  isort: skip
from . import safetensors_format  # noqa: F401  isort: skip
from .registry import FORMATS, ExportFormat, Loaded, format_for_path, get_format, list_formats, register_format

__all__ = ["FORMATS", "ExportFormat", "Loaded", "format_for_path", "get_format", "list_formats", "register_format"]
