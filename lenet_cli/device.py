"""Which device a run uses, and in which precision; torch loads with this module."""

from __future__ import annotations

import torch

from .errors import LenetError

__all__ = ["resolve_device", "resolve_amp"]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device must exist."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise LenetError("--device cuda requested but CUDA is not available; use --device cpu")
    if name == "mps" and not has_mps:
        raise LenetError("--device mps requested but MPS is not available; use --device cpu")
    return torch.device(name)


def resolve_amp(amp: str, device: torch.device) -> str:
    """The precision a run trains in: ``auto`` is bf16 autocast where the hardware computes bf16 natively, else none.

    Where the CPU computes bf16 natively, bf16 autocast trains faster at the same test accuracy
    (docs/benchmarks.md, bench/bench_train.py). CPUs without native
    bf16 would emulate it, slower than fp32, so they stay in fp32; so do MPS and older GPUs.
    """
    if amp != "auto":
        return amp
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "none"
    if device.type == "cpu":
        return "bf16" if _cpu_has_native_bf16() else "none"
    return "none"


def _cpu_has_native_bf16() -> bool:
    """AVX-512 BF16 or AMX; the probes are private to torch, so their absence means no."""
    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(probe() for probe in probes if probe is not None)
