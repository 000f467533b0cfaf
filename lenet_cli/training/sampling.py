"""Which images each epoch sees: the validation split held out, the epoch's order, batches per epoch."""

from __future__ import annotations

import torch

__all__ = ["epoch_permutation", "split_validation", "steps_per_epoch"]


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


def steps_per_epoch(n: int, batch_size: int, world_size: int = 1) -> int:
    """Batches per epoch; with several processes, a last batch too small to give every rank an image is dropped."""
    full, rest = divmod(n, batch_size)
    return full + (1 if rest >= world_size else 0)
