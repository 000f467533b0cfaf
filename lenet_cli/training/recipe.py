"""The recipe's parts: device, optimizer, schedule, normalisation, batches per epoch, epoch order."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from ..data.preprocess import Normalization
from ..errors import LenetError
from .config import TrainConfig

__all__ = [
    "resolve_device", "resolve_amp", "epoch_permutation", "split_validation", "make_optimizer", "make_scheduler",
    "replan_scheduler", "lr_range", "normalization", "steps_per_epoch",
]


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

    Measured on a 2-core CPU with AVX-512 BF16 and AMX (bench/bench_train.py): bf16 autocast at
    batch 256 trains 1.2-1.7x faster than batch 128 in fp32, with the same test accuracy. CPUs without native
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


def epoch_permutation(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The order of epoch ``epoch``: a pure function of (seed, epoch), so a resume can rebuild it."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def split_validation(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(validation, training) indices: ``fraction`` of every class held out, chosen by the seed alone.

    Stratified, so the validation split has the class balance of the training data;
    both index lists are sorted (the data keeps its file order).
    """
    if fraction <= 0:
        return torch.empty(0, dtype=torch.long), torch.arange(len(labels))
    shuffled = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    by_class = shuffled[torch.argsort(labels[shuffled], stable=True)]  # grouped by class, random within each
    counts = torch.bincount(labels).tolist()
    starts = [sum(counts[:c]) for c in range(len(counts))]
    held = [by_class[start : start + take] for start, take in zip(starts, _class_quotas(counts, fraction))]
    val = torch.cat(held).sort().values if held else torch.empty(0, dtype=torch.long)
    keep = torch.ones(len(labels), dtype=torch.bool)
    keep[val] = False
    return val, keep.nonzero().flatten()


def _class_quotas(counts: list[int], fraction: float) -> list[int]:
    """Images to hold out per class: ``round(fraction * total)`` in all, shared by largest remainder.

    Rounding each class on its own would hold out nothing at all from a small dataset.
    """
    shares = [fraction * count for count in counts]
    quotas = [int(share) for share in shares]
    missing = round(fraction * sum(counts)) - sum(quotas)
    by_remainder = sorted(range(len(counts)), key=lambda c: (quotas[c] - shares[c], c))
    for c in by_remainder[:max(0, missing)]:
        quotas[c] += 1
    return quotas


def lr_range(config: TrainConfig) -> tuple[float, float]:
    """The peak and the final learning rate of ``config``'s schedule (``make_scheduler``'s constants)."""
    final = {
        "onecycle": config.lr / 25 / 1e4,  # OneCycleLR's div_factor and final_div_factor
        "cosine": 0.0,
        "step": config.lr * 0.01,  # two steps of x0.1
    }.get(config.scheduler, config.lr)
    return config.lr, final


def steps_per_epoch(n: int, batch_size: int, world_size: int = 1) -> int:
    """Batches per epoch; with several processes, a last batch too small to give every rank an image is dropped."""
    full, rest = divmod(n, batch_size)
    return full + (1 if rest >= world_size else 0)


def make_optimizer(config: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The optimizer ``config.optimizer`` names, with its learning rate and weight decay."""
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
    """Schedules step once per batch; ``none`` is a constant schedule so the loop stays uniform."""
    sched = torch.optim.lr_scheduler
    if config.scheduler == "onecycle":
        return sched.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
    if config.scheduler == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.scheduler == "step":  # x0.1 at 50 % and 75 % of training
        return sched.MultiStepLR(optimizer, milestones=[total_steps // 2, total_steps * 3 // 4], gamma=0.1)
    return sched.LambdaLR(optimizer, lambda _: 1.0)


def replan_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int, done: int) -> Any:
    """A schedule for a run whose length changed on resume, advanced to step ``done``.

    The replay starts from the schedule's first learning rate: cosine and step schedules
    compute each step's rate from the previous one, so starting from the saved (already
    decayed) rate would decay it twice, or leave a finished cosine at zero for good.
    """
    for group in optimizer.param_groups:
        group["lr"] = group.get("initial_lr", config.lr)
    scheduler = make_scheduler(config, optimizer, total_steps)
    with warnings.catch_warnings():  # stepping a schedule without optimizer steps is the point here
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(done):
            scheduler.step()
    return scheduler


def normalization(model_spec: Any, data_spec: Any, input_size: int) -> Normalization:
    """The model's own input range when it has one (the paper's -0.1 / 1.175), else the dataset's statistics."""
    if model_spec.input_range is not None:
        return Normalization.from_range(*model_spec.input_range, input_size, data_spec.channels,
                                        model_spec.content_scale)
    return Normalization(data_spec.mean, data_spec.std, input_size, data_spec.channels, model_spec.content_scale)
