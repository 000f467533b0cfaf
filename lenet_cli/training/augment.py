"""Batched random affine distortions on tensors, in the spirit of the paper's distorted training set.

LeCun et al. 1998, section III.C: "planar affine transformations (translations,
scaling, squeezing, and horizontal shearing)". One matrix per image, applied to
the whole batch with a single grid_sample call.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["random_affine"]


def random_affine(
    x: torch.Tensor,
    generator: torch.Generator,
    background: torch.Tensor,
    *,
    degrees: float = 10.0,
    translate: float = 0.08,  # fraction of the side
    scale: tuple[float, float] = (0.9, 1.1),
    shear: float = 0.15,  # horizontal shear factor
) -> torch.Tensor:
    """Distort normalised images ``x`` (N x C x H x W); uncovered pixels get ``background``."""
    n = x.shape[0]
    r = torch.rand(n, 5, generator=generator).to(x.device)
    angle = (r[:, 0] * 2 - 1) * math.radians(degrees)
    s = scale[0] + r[:, 1] * (scale[1] - scale[0])
    sh = (r[:, 2] * 2 - 1) * shear
    tx, ty = (r[:, 3] * 2 - 1) * translate * 2, (r[:, 4] * 2 - 1) * translate * 2  # grid units span 2
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack(
        [torch.stack([cos, -sin + sh, tx], 1), torch.stack([sin, cos, ty], 1)], 1
    ).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    bg = background.view(1, -1, 1, 1).to(x.dtype)
    # grid_sample pads with zeros; shift so that zero is the background value.
    return F.grid_sample(x - bg, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + bg
