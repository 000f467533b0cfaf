"""The registry of export formats: each is declared once, and everything else reads it.

``lenet export --format`` choices and help, the docs table, the default output
name and predict's dispatch by file name all come from here. A format is a class
with a ``to_bytes`` (model to file content) and a ``load`` (file back to a runnable model plus
its metadata), registered with ``@register_format``. Nothing here imports torch:
a format imports what it needs inside ``to_bytes`` and ``load``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, TypeVar

from ..errors import UsageError
from ..registry import Registry

if TYPE_CHECKING:
    import numpy as np
    import torch

__all__ = ["FORMATS", "ExportFormat", "Loaded", "register_format", "torch_runner", "get_format", "list_formats", "format_for_path",
           "VERIFY_IMAGES"]

FORMATS: Registry["ExportFormat"] = Registry("export format")
VERIFY_IMAGES = (2, 100_000)  # how many test images an export may be verified on: at least two, and a sane most


@dataclass
class Loaded:
    """An export read back: ``run`` maps float32 model input (N x C x S x S) to scores; ``metadata`` is lenet's."""

    run: Callable[["np.ndarray"], "np.ndarray"]
    metadata: dict[str, Any]


class ExportFormat:
    """One export format. Subclasses set the class attributes and implement ``to_bytes`` and ``load``."""

    name: ClassVar[str]
    suffix: ClassVar[str]  # the file name ending, e.g. ".onnx"
    description: ClassVar[str]  # one line for tables and help
    consumers: ClassVar[str]  # who reads the file, for the docs
    needs: ClassVar[str]  # what must be installed to write and read it
    requires: ClassVar[tuple[str, ...]] = ()  # the importable packages ``needs`` names (torch aside)
    runtime: ClassVar[str]  # what runs the file when it is read back, e.g. "onnxruntime"
    options: ClassVar[dict[str, Any]] = {}  # the format's own keyword options of ``to_bytes`` and their defaults

    def to_bytes(self, model: "torch.nn.Module", example: "torch.Tensor", metadata: dict[str, Any],
                 **options: Any) -> bytes:
        """The file's content: ``model`` with ``metadata`` embedded; ``example`` is a batch of real input.

        Serialised in memory, so that writing it (and a full disk) is the exporter's job alone.
        """
        raise NotImplementedError

    def load(self, path: Path) -> Loaded:
        """Read a file this format wrote, the way a consumer would."""
        raise NotImplementedError

    def check_device(self, path: Path, device: str) -> None:
        """Exports run on their runtime's CPU provider here; asking for an accelerator needs the ``.pt``."""
        if device not in ("auto", "cpu"):
            raise UsageError(f"{path} is an export ({self.name}), run by {self.runtime} on the CPU here; "
                             f"--device {device} needs a lenet checkpoint (.pt)")

    def sidecar(self, path: Path, metadata: dict[str, Any]) -> tuple[Path, bytes] | None:
        """A second file written beside the export once it is verified (name and content), if any."""
        return None


def torch_runner(module: "torch.nn.Module") -> Callable[["np.ndarray"], "np.ndarray"]:
    """``Loaded.run`` for a model read back into PyTorch: NumPy in, NumPy out, no gradients."""
    import torch

    def run(x: "np.ndarray") -> "np.ndarray":
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()

    return run


F = TypeVar("F", bound=type)


def register_format(cls: F) -> F:
    """Class decorator: add a format to the registry under its ``name``; a duplicate name raises."""
    FORMATS.register(cls.name, cls())
    return cls


def list_formats() -> list[str]:
    """Registered format names, in registration order."""
    return FORMATS.names()


def get_format(name: str) -> ExportFormat:
    """The format called ``name``; an unknown name is a usage error naming the nearest and the valid ones."""
    return FORMATS[name]


def format_for_path(path: str | Path) -> ExportFormat | None:
    """The format whose suffix ``path`` ends with (the longest match), or None for anything else."""
    name = Path(path).name.lower()
    matches = [fmt for fmt in FORMATS.values() if name.endswith(fmt.suffix)]
    return max(matches, key=lambda fmt: len(fmt.suffix), default=None)
