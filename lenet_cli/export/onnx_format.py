"""ONNX: written by torch's dynamo exporter, read by onnxruntime with NumPy alone (no torch import)."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

from ..errors import DataFormatError, InputNotFound, LenetError, UsageError
from .registry import ExportFormat, Loaded, register_format

__all__ = ["Onnx", "DEFAULT_OPSET", "read_onnx_metadata"]

DEFAULT_OPSET = 18  # the lowest opset torch's ONNX exporter writes natively
ONNX_INSTALL = "pip install 'lenet-cli[onnx]'"


@register_format
class Onnx(ExportFormat):
    name = "onnx"
    suffix = ".onnx"
    description = "graph for onnxruntime; metadata in metadata_props"
    consumers = "onnxruntime, OpenCV DNN, any ONNX runtime (`lenet predict` runs it without torch)"
    needs = "`pip install 'lenet-cli[onnx]'` to write (onnx, onnxscript); onnxruntime, installed with lenet, to run"
    runtime = "onnxruntime"
    requires = ("onnx", "onnxscript", "onnxruntime")
    options = {"opset": DEFAULT_OPSET, "dynamic_batch": True}

    def to_bytes(self, model: Any, example: Any, metadata: dict[str, Any], *,
                 opset: int = DEFAULT_OPSET, dynamic_batch: bool = True, **options: Any) -> bytes:
        import torch

        try:
            import onnx
            import onnxscript  # noqa: F401  (torch's exporter needs it)
        except ImportError as exc:
            raise LenetError(f"ONNX export needs the onnx extra ({exc.name} is missing): {ONNX_INSTALL}") from None
        if not DEFAULT_OPSET <= opset <= onnx.defs.onnx_opset_version():
            raise UsageError(f"--opset must be between {DEFAULT_OPSET} and {onnx.defs.onnx_opset_version()}, not {opset}")
        shapes = ({0: torch.export.Dim("batch", min=1, max=1 << 16)},) if dynamic_batch else None
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(model, (example[:2] if dynamic_batch else example[:1],), dynamo=True,
                                        opset_version=opset, input_names=["input"], output_names=["scores"],
                                        dynamic_shapes=shapes, verbose=False)
        proto = program.model_proto
        for key, value in metadata.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, json.dumps(value)
        return proto.SerializeToString()

    def load(self, path: Path) -> Loaded:
        session = _session(Path(path))
        metadata = read_onnx_metadata(session, Path(path))
        _check_input(session, metadata, Path(path))
        static_batch = isinstance(session.get_inputs()[0].shape[0], int)

        def run(x: Any) -> Any:
            try:
                if static_batch:  # exported with --static-batch: one image per run
                    import numpy as np

                    return np.concatenate([session.run(["scores"], {"input": x[i : i + 1]})[0] for i in range(len(x))])
                return session.run(["scores"], {"input": x})[0]
            except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types; the model is user input
                raise DataFormatError(f"{path}: the model cannot run on its documented input "
                                      f"({str(exc).strip().splitlines()[0][:160]})") from None

        return Loaded(run, metadata)


def _session(path: Path) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise LenetError("Running an .onnx model needs onnxruntime, a dependency of lenet-cli: pip install onnxruntime") from None
    if not path.is_file():
        raise InputNotFound(f"Model {path} not found")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its warnings would land in the user's terminal
    # A LeNet is a few hundred microseconds of work: threads that spin-wait for more would take the cores
    # from image preparation and from concurrent requests (a server's throughput fell fourfold with them).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types for bad files
        raise DataFormatError(f"{path}: not a readable ONNX model ({str(exc).splitlines()[0][:160]})") from None


_REQUIRED = ("model", "classes", "normalization", "input_shape")


def read_onnx_metadata(session: Any, path: Path) -> dict[str, Any]:
    """The metadata ``lenet export`` stored in the model's metadata_props; damaged metadata is exit 65."""
    props = session.get_modelmeta().custom_metadata_map
    if props.get("format") != json.dumps("lenet-export"):
        raise LenetError(f"{path}: an ONNX model, but not one written by `lenet export` (no lenet metadata)")
    try:
        metadata = {key: json.loads(value) for key, value in props.items()}
    except ValueError as exc:
        raise DataFormatError(f"{path}: its lenet metadata is not valid JSON ({exc})") from None
    missing = [key for key in _REQUIRED if key not in metadata]
    if missing:
        raise DataFormatError(f"{path}: its lenet metadata lacks {', '.join(missing)}")
    return metadata


def _check_input(session: Any, metadata: dict[str, Any], path: Path) -> None:
    """The graph's input must be the N x C x S x S the metadata describes."""
    shape = list(session.get_inputs()[0].shape)
    if len(shape) != 4 or shape[1:] != list(metadata["input_shape"]):
        raise DataFormatError(f"{path}: the graph takes input of shape {shape}, but its metadata describes "
                              f"N x {' x '.join(map(str, metadata['input_shape']))}")
