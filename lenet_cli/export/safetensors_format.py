"""safetensors: the weights alone, metadata in the header, for any framework that rebuilds the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import DataFormatError, LenetError
from .registry import ExportFormat, Loaded, register_format, torch_runner

__all__ = ["Safetensors"]


@register_format
class Safetensors(ExportFormat):
    name = "safetensors"
    suffix = ".safetensors"
    description = "weights only; metadata in the header and in a JSON sidecar (`best.json`)"
    consumers = "`safetensors.torch.load_file` into `lenet_cli.get_model(...)`, or any framework"
    needs = "safetensors (installed with lenet)"
    runtime = "PyTorch (weights into the model)"
    requires = ("safetensors",)

    def to_bytes(self, model: Any, example: Any, metadata: dict[str, Any], **options: Any) -> bytes:
        from safetensors.torch import save

        return save({k: v.contiguous() for k, v in model.state_dict().items()}, metadata={"lenet": json.dumps(metadata)})

    def sidecar(self, path: Path, metadata: dict[str, Any]) -> tuple[Path, bytes] | None:
        """The same metadata as a JSON file, for tools that cannot read the header."""
        return path.with_suffix(".json"), (json.dumps({**metadata, "weights": path.name}, indent=2) + "\n").encode()

    def load(self, path: Path) -> Loaded:
        from safetensors import SafetensorError, safe_open
        from safetensors.torch import load_file

        from ..models import get_model

        try:
            with safe_open(str(path), "pt") as handle:
                header = handle.metadata() or {}
            weights = load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise DataFormatError(f"{path}: not a readable safetensors file ({exc})") from None
        if "lenet" not in header:
            raise LenetError(f"{path}: a safetensors file, but not one written by `lenet export` (no lenet metadata)")
        metadata = json.loads(header["lenet"])
        model = get_model(metadata["model"], **metadata["model_args"])
        model.load_state_dict(weights, strict=True)
        model.eval()
        return Loaded(torch_runner(model), metadata)
