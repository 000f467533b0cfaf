"""TorchScript: a traced graph with the lenet metadata as an extra file, for C++ (LibTorch) and Python."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

from ..errors import DataFormatError, LenetError
from .registry import ExportFormat, Loaded, register_format, torch_runner

__all__ = ["TorchScript"]

_EXTRA = "lenet.json"


@register_format
class TorchScript(ExportFormat):
    name = "torchscript"
    suffix = ".torchscript.pt"
    description = "traced graph with the metadata as an extra file"
    consumers = "`torch.jit.load` (C++ `torch::jit::load`)"
    needs = "torch"
    runtime = "TorchScript (torch.jit)"

    def to_bytes(self, model: Any, example: Any, metadata: dict[str, Any], **options: Any) -> bytes:
        import torch

        buffer = io.BytesIO()  # torch.jit.save aborts the process on a full disk; a buffer cannot fill up
        with warnings.catch_warnings():  # torch marks TorchScript deprecated; it still loads everywhere
            warnings.simplefilter("ignore", FutureWarning)
            traced = torch.jit.trace(model, example[:2])
            torch.jit.save(traced, buffer, _extra_files={_EXTRA: json.dumps(metadata)})
        return buffer.getvalue()

    def load(self, path: Path) -> Loaded:
        import torch

        extra = {_EXTRA: ""}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except Exception as exc:  # noqa: BLE001 - torch.jit.load fails on garbage in many ways; the file is user input
            raise DataFormatError(f"{path}: not a readable TorchScript model ({str(exc).strip().splitlines()[0][:160]})") from None
        if not extra[_EXTRA]:
            raise LenetError(f"{path}: a TorchScript model, but not one written by `lenet export` (no lenet metadata)")
        return Loaded(torch_runner(module), json.loads(extra[_EXTRA]))
