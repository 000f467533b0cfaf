"""What training minimises and how: the loss, the optimizer, the learning-rate schedule (replanned on resume)."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..errors import UsageError
from .config import TrainConfig

__all__ = ["loss_name", "make_criterion", "make_optimizer", "make_scheduler", "replan_scheduler", "lr_range"]

Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def loss_name(model: torch.nn.Module, requested: str, model_name: str = "") -> str:
    """Resolve ``auto`` to the model's own loss and refuse losses the model's output cannot take."""
    name = getattr(model, "native_loss", "cross-entropy") if requested == "auto" else requested
    supported = getattr(model, "supported_losses", ("cross-entropy",))
    if name not in supported:
        raise UsageError(f"--loss {name} does not apply to {model_name or type(model).__name__}; "
                         f"it supports: {', '.join(supported)}")
    return name


def make_criterion(name: str, label_smoothing: float = 0.0) -> Criterion:
    """``loss(scores, target)``; label smoothing applies to cross-entropy only."""
    if name == "cross-entropy":
        return partial(F.cross_entropy, label_smoothing=label_smoothing)
    from ..models.classic import rbf_loss

    return partial(rbf_loss, kind=name)


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
        return sched.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps, **_momentum_cycle(config))
    if config.scheduler == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.scheduler == "step":  # x0.1 at 50 % and 75 % of training
        return sched.MultiStepLR(optimizer, milestones=[total_steps // 2, total_steps * 3 // 4], gamma=0.1)
    return sched.LambdaLR(optimizer, lambda _: 1.0)


def _momentum_cycle(config: TrainConfig) -> dict[str, float]:
    """OneCycleLR cycles SGD's momentum itself (0.85 to 0.95 by default), which would override --momentum:
    the option is the cycle's top, and its bottom keeps PyTorch's ratio. Adam's betas keep PyTorch's cycle."""
    if config.optimizer != "sgd":
        return {}
    return {"max_momentum": config.momentum, "base_momentum": config.momentum * 0.85 / 0.95}


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


def lr_range(config: TrainConfig) -> tuple[float, float]:
    """The peak and the final learning rate of ``config``'s schedule (``make_scheduler``'s constants)."""
    final = {
        "onecycle": config.lr / 25 / 1e4,  # OneCycleLR's div_factor and final_div_factor
        "cosine": 0.0,
        "step": config.lr * 0.01,  # two steps of x0.1
    }.get(config.scheduler, config.lr)
    return config.lr, final
