"""Turning uint8 image batches into model input: scale, pad or resize, normalise.

Two implementations of the same steps: torch for training and evaluation, NumPy
and Pillow for ONNX inference, which must not import torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["Normalization", "to_model_input", "padded_uint8", "normalise", "to_model_input_numpy"]


@dataclass(frozen=True)
class Normalization:
    """How raw images become model input; stored in checkpoints so predict does the same."""

    mean: tuple[float, ...]  # per channel, 0..1 scale
    std: tuple[float, ...]
    input_size: int  # the model's square input side
    channels: int
    content_scale: float = 1.0  # images shrink by this factor before padding

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Normalization":
        return cls(tuple(data["mean"]), tuple(data["std"]), int(data["input_size"]), int(data["channels"]),
                   float(data.get("content_scale", 1.0)))

    @classmethod
    def from_range(cls, background: float, ink: float, input_size: int, channels: int,
                   content_scale: float = 1.0) -> "Normalization":
        """Map pixel 0 to ``background`` and 255 to ``ink`` (the paper's -0.1 and 1.175)."""
        std = 1.0 / (ink - background)
        return cls((-background * std,) * channels, (std,) * channels, input_size, channels, content_scale)

    @classmethod
    def for_model(cls, model_spec: Any, data_spec: Any, input_size: int) -> "Normalization":
        """The model's own input range when it has one (the paper's -0.1 / 1.175), else the dataset's statistics."""
        if model_spec.input_range is not None:
            return cls.from_range(*model_spec.input_range, input_size, data_spec.channels, model_spec.content_scale)
        return cls(data_spec.mean, data_spec.std, input_size, data_spec.channels, model_spec.content_scale)


def to_model_input(images: torch.Tensor, norm: Normalization) -> torch.Tensor:
    """uint8 N x C x H x W -> float32 N x C x S x S, normalised.

    Smaller images are padded with background (as the paper padded 28x28 MNIST to
    32x32); larger ones are resized with antialiasing.
    """
    canvas = padded_uint8(images, norm)
    return normalise(canvas, norm) if canvas is not None else _standardise(_resized(images, norm), norm)


def padded_uint8(images: torch.Tensor, norm: Normalization) -> "torch.Tensor | None":
    """uint8 images centred on a uint8 canvas of the model's side, when padding is all they need; else None.

    A quarter of the float input's memory: training keeps splits this way and calls
    ``normalise`` per batch, with the same numbers as ``to_model_input``.
    """
    side = norm.input_size
    n, channels, height, width = images.shape
    if norm.content_scale != 1.0 or height > side or width > side:
        return None
    top, left = (side - height) // 2, (side - width) // 2
    canvas = images.new_zeros((n, channels, side, side))
    canvas[:, :, top : top + height, left : left + width] = images
    return canvas


def normalise(canvas: torch.Tensor, norm: Normalization) -> torch.Tensor:
    """uint8 N x C x S x S at the model's side -> float32 model input."""
    import torch

    return _standardise(canvas.to(torch.float32).div_(255.0), norm)


def _standardise(x: torch.Tensor, norm: Normalization) -> torch.Tensor:
    """Float pixels in 0..1 -> (x - mean) / std per channel, in place."""
    import torch

    mean = torch.tensor(norm.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(norm.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return x.sub_(mean).div_(std)


def _resized(images: torch.Tensor, norm: Normalization) -> torch.Tensor:
    """Pixels in 0..1 at the model's side, of images shrunk (``content_scale``) or larger than that side."""
    import torch
    import torch.nn.functional as F

    side = norm.input_size
    n, channels, height, width = images.shape
    if norm.content_scale != 1.0:  # shrink, then pad below
        x = images.to(torch.float32)
        height, width = max(1, round(height * norm.content_scale)), max(1, round(width * norm.content_scale))
        images = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    if height > side or width > side:
        x = images.to(torch.float32).div_(255.0)
        x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    else:
        # Pad by writing into a zero canvas: one float copy of the data instead of two.
        top, left = (side - height) // 2, (side - width) // 2
        x = images.new_zeros((n, channels, side, side), dtype=torch.float32)
        x[:, :, top : top + height, left : left + width] = images
        x.div_(255.0)
    return x


def to_model_input_numpy(images: np.ndarray, norm: Normalization) -> np.ndarray:
    """``to_model_input`` without torch: uint8 N x C x H x W -> float32 N x C x S x S.

    Padding and normalisation are identical; resizing uses Pillow's antialiased
    bilinear filter, which differs from torch's by a few grey levels at most.
    """
    from PIL import Image

    side = norm.input_size
    n, channels, height, width = images.shape
    x = images.astype(np.float32)

    def resize(batch: np.ndarray, h: int, w: int) -> np.ndarray:
        return np.stack([np.stack([np.asarray(Image.fromarray(plane, "F").resize((w, h), Image.BILINEAR))
                                   for plane in image]) for image in batch]).astype(np.float32)

    if norm.content_scale != 1.0:
        height, width = max(1, round(height * norm.content_scale)), max(1, round(width * norm.content_scale))
        x = resize(x, height, width)
    if height > side or width > side:
        x = resize(x, side, side)
    else:
        top, left = (side - height) // 2, (side - width) // 2
        canvas = np.zeros((n, channels, side, side), np.float32)
        canvas[:, :, top : top + height, left : left + width] = x
        x = canvas
    mean = np.asarray(norm.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(norm.std, np.float32).reshape(1, -1, 1, 1)
    return (x / 255.0 - mean) / std
