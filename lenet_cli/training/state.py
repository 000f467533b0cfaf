"""Where a run stands: position, the running sums of the epoch, the best epoch, history, RNG.

A checkpoint is a ``TrainState`` snapshot plus the model, optimizer and
scheduler; resuming restores the ``TrainState`` from it. The checkpoint keys
(``position``, ``best``, ``history``, ``rng``) are the on-disk format and stay
stable across versions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

__all__ = ["EpochSums", "Best", "TrainState", "augment_generator"]


def augment_generator(seed: int, rank: int = 0) -> torch.Generator:
    """Each rank distorts its own images, so each has its own augmentation stream."""
    return torch.Generator().manual_seed(seed + 1 + 7919 * rank)


@dataclass
class EpochSums:
    """Running totals of the epoch in progress (saved mid-epoch so a resume continues them)."""

    loss: float = 0.0  # plain training loss (as validation and test are measured) summed over images
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0  # training time already spent in this epoch before a resume
    objective: float = 0.0  # the loss optimised (with label smoothing), summed over images

    def add(self, loss: float, correct: int, count: int, objective: float | None = None) -> None:
        self.loss += loss * count
        self.correct += correct
        self.seen += count
        self.objective += (loss if objective is None else objective) * count

    def to_list(self) -> list[float]:
        return [self.loss, self.correct, self.seen, self.seconds, self.objective]

    @classmethod
    def from_list(cls, values: list[float]) -> "EpochSums":
        loss, correct, seen, seconds, *objective = values  # checkpoints before train_objective hold four
        return cls(loss, int(correct), int(seen), seconds, objective[0] if objective else loss)


@dataclass
class Best:
    """The epoch that scored highest on the monitored metric so far."""

    metric: float = -1.0
    epoch: int | None = None
    test_acc: float | None = None


@dataclass
class TrainState:
    """Everything that changes while training, apart from the model and optimizer."""

    augment_rng: torch.Generator
    epoch: int = 0  # epochs completed
    step: int = 0  # steps done in epoch ``epoch``
    sums: EpochSums = field(default_factory=EpochSums)
    best: Best = field(default_factory=Best)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def epochs_since_best(self) -> int:
        return len(self.history) - (self.best.epoch or 0)

    def improve(self, metric: float, test_acc: float) -> bool:
        """Record the epoch just appended to ``history`` as best if ``metric`` beats the best so far."""
        if not metric > self.best.metric:  # NaN never improves
            return False
        self.best = Best(metric, len(self.history), test_acc)
        return True

    def end_epoch(self, row: dict[str, Any]) -> None:
        """Append the finished epoch's row and start the next epoch's sums."""
        self.history.append(row)
        self.epoch, self.step, self.sums = self.epoch + 1, 0, EpochSums()

    def snapshot(self, steps_per_epoch: int, rng_states: list[torch.Tensor], world_size: int) -> dict[str, Any]:
        """The checkpoint entries of this state; ``rng_states`` holds every rank's augmentation state."""
        return {
            "rng": {"augment": rng_states[0], "augment_per_rank": rng_states, "world_size": world_size},
            "position": {"epoch": self.epoch, "step": self.step, "global_step": self.epoch * steps_per_epoch + self.step,
                         "sums": self.sums.to_list()},
            "history": list(self.history), "best": asdict(self.best),
            "metrics": self.history[-1] if self.history else {},
        }

    @classmethod
    def restore(cls, checkpoint: dict[str, Any], rank: int = 0) -> "TrainState":
        """The state a checkpoint saved, with ``rank``'s augmentation stream."""
        rng = checkpoint["rng"]
        generator = torch.Generator()
        generator.set_state(rng["augment_per_rank"][rank] if "augment_per_rank" in rng else rng["augment"])
        position = checkpoint["position"]
        return cls(generator, position["epoch"], position["step"], EpochSums.from_list(position["sums"]),
                   Best(**checkpoint["best"]), list(checkpoint["history"]))
