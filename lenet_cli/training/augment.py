"""Batched random distortions of training images, one registry of them (``--augment``).

- ``affine``: LeCun et al. 1998, section III.C: "planar affine transformations
  (translations, scaling, squeezing, and horizontal shearing)". One matrix per image,
  applied to the whole batch with a single grid_sample call.
- ``shift``: a move of up to 2 pixels in each direction, in whole pixels, so nothing is
  blurred by resampling.
- ``writing``: what real writing adds to that: elastic distortion (Simard et al. 2003,
  a smooth random displacement field), stroke thickness from a thin pencil to a thick
  marker (grey-scale erosion or dilation), and slight blur. Still one grid_sample.

Images are normalised, ink brighter than the background, as MNIST is.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["AUGMENTATIONS", "random_affine", "random_shift", "random_writing"]


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
    return _sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), background)


def random_shift(x: torch.Tensor, generator: torch.Generator, background: torch.Tensor, *,
                 shift: int = 2) -> torch.Tensor:
    """Shift images ``x`` (N x C x H x W) by up to ``shift`` whole pixels each way; uncovered pixels get
    ``background``.

    Whole pixels are a gather from a padded copy: exact, and about half the time of grid_sample.
    """
    n, c, h, w = x.shape
    dx, dy = torch.randint(-shift, shift + 1, (2, n), generator=generator).to(x.device)
    padded = background.view(1, -1, 1, 1).to(x.dtype).repeat(n, 1, h + 2 * shift, w + 2 * shift)
    padded[:, :, shift : h + shift, shift : w + shift] = x
    # Output pixel (i, j) comes from input pixel (i + dy, j + dx): padded pixel (i + dy + shift, j + dx + shift).
    rows = torch.arange(h, device=x.device)[None] + dy[:, None] + shift
    cols = torch.arange(w, device=x.device)[None] + dx[:, None] + shift
    index = (rows[:, :, None] * (w + 2 * shift) + cols[:, None, :]).view(n, 1, h * w).expand(n, c, h * w)
    return padded.reshape(n, c, -1).gather(2, index).view(n, c, h, w)


def _sample(x: torch.Tensor, grid: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """``x`` resampled at ``grid``; pixels from outside get ``background``."""
    bg = background.view(1, -1, 1, 1).to(x.dtype)
    # grid_sample pads with zeros; shift so that zero is the background value.
    return F.grid_sample(x - bg, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + bg


def random_writing(
    x: torch.Tensor,
    generator: torch.Generator,
    background: torch.Tensor,
    *,
    elastic: float = 0.06,  # largest displacement, in grid units (2 = the side): about 1 px of 32
    thickness: float = 0.8,  # strongest erosion or dilation, as a blend with the 3x3 min or max
    blur: float = 0.6,  # strongest blend with a 3x3 blur
) -> torch.Tensor:
    """The ``affine`` distortions, then elastic distortion, stroke thickness and blur, per image."""
    n, _, h, w = x.shape
    r = torch.rand(n, 8, generator=generator).to(x.device)
    x = random_affine(x, generator, background)
    # Elastic: a random field on a 4x4 grid, upsampled smoothly: Simard's smoothed random field, cheaply.
    coarse = (torch.rand(n, 2, 4, 4, generator=generator).to(x.device) * 2 - 1) * elastic
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
    identity = F.affine_grid(torch.eye(2, 3, dtype=x.dtype, device=x.device).expand(n, 2, 3), [n, 1, h, w],
                             align_corners=False)
    x = _sample(x, identity + field.to(x.dtype) * r[:, 0].view(n, 1, 1, 1), background)
    # Thickness: half the images thicker (towards the 3x3 maximum), half thinner (towards the minimum).
    thicker = F.max_pool2d(x, 3, 1, 1)
    thinner = -F.max_pool2d(-x, 3, 1, 1)
    grow = (r[:, 2] < 0.5).view(n, 1, 1, 1)
    amount = r[:, 1].view(n, 1, 1, 1) * torch.where(grow, thickness, thickness / 2)  # thin strokes fade fast
    target = torch.where(grow, thicker, thinner)
    x = x + amount * (target - x)
    blurred = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    return x + (r[:, 3] * blur).view(n, 1, 1, 1) * (blurred - x)


# --augment NAME -> fn(images, generator, background); "none" is no entry.
AUGMENTATIONS = {"affine": random_affine, "shift": random_shift, "writing": random_writing}
