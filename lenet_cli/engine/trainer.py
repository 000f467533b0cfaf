"""The training loop: whole splits in memory, batches by index, exact resume, honest records.

Nothing here prints. Progress goes to ``on_event(kind, payload)``; the caller
asks for a clean stop through ``should_stop()``, checked after every step.
"""

from __future__ import annotations

import math
import platform
import secrets
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from .. import __version__
from ..data import get_dataset
from ..data.preprocess import Normalization, to_model_input
from ..errors import LenetError, TrainingDiverged, UsageError
from ..models import get_model, get_model_spec
from .augment import random_affine
from .checkpoint import load_checkpoint, save_checkpoint, sha256_file
from .config import TrainConfig, to_toml
from .curves import draw_curves
from .distributed import Distributed, from_environment
from .evaluate import evaluate_sums
from .losses import loss_name, make_criterion
from .rundir import make_run_dir, write_json, write_metrics_csv, write_text

__all__ = ["TrainResult", "train", "resolve_device"]

EventSink = Callable[[str, dict[str, Any]], None]
# Options that may differ when continuing a run; everything else comes from the checkpoint.
RESUMABLE_OVERRIDES = ("epochs", "patience", "fail_under", "device", "threads", "data_dir", "offline", "amp", "compile")


@dataclass
class TrainResult:
    status: str  # completed | early_stopped | interrupted
    run_dir: Path
    epochs: int  # epochs completed
    seed: int
    test_accuracy: float | None = None  # after the last completed epoch
    test_loss: float | None = None
    best_epoch: int | None = None
    best_test_accuracy: float | None = None
    best_checkpoint: Path | None = None  # only files that were actually written
    last_checkpoint: Path | None = None
    seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    is_main: bool = True  # False on the non-zero ranks of a distributed run, which print nothing

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "best_epoch": self.best_epoch,
            "best_test_accuracy": self.best_test_accuracy,
            "best_checkpoint": str(self.best_checkpoint) if self.best_checkpoint else None,
            "last_checkpoint": str(self.last_checkpoint) if self.last_checkpoint else None,
            "run_dir": str(self.run_dir),
            "epochs": self.epochs,
            "seed": self.seed,
            "seconds": round(self.seconds, 3),
        }


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


def _epoch_permutation(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The order of epoch ``epoch``: a pure function of (seed, epoch), so a resume can rebuild it."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def _make_optimizer(config: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def _make_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
    """Schedules step once per batch; ``none`` is a constant schedule so the loop stays uniform."""
    sched = torch.optim.lr_scheduler
    if config.scheduler == "onecycle":
        return sched.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
    if config.scheduler == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.scheduler == "step":  # x0.1 at 50 % and 75 % of training
        return sched.MultiStepLR(optimizer, milestones=[total_steps // 2, total_steps * 3 // 4], gamma=0.1)
    return sched.LambdaLR(optimizer, lambda _: 1.0)


def _normalization(model_spec: Any, data_spec: Any, input_size: int) -> Normalization:
    """The model's own input range when it has one (the paper's -0.1 / 1.175), else the dataset's statistics."""
    if model_spec.input_range is not None:
        return Normalization.from_range(*model_spec.input_range, input_size, data_spec.channels,
                                        model_spec.content_scale)
    return Normalization(data_spec.mean, data_spec.std, input_size, data_spec.channels, model_spec.content_scale)


def _versions() -> dict[str, str]:
    import torchvision

    return {"lenet": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__}


def _resolve_resume(config: TrainConfig, resume: Path | None, explicit: set[str]) -> tuple[TrainConfig, dict | None]:
    """On resume the checkpoint's config wins, except for the options that may change."""
    if resume is None:
        return config, None
    checkpoint = load_checkpoint(resume)
    if "optimizer" not in checkpoint or "position" not in checkpoint:
        raise LenetError(f"{resume}: this checkpoint has no training state to resume from")
    saved = TrainConfig(**checkpoint["config"])
    for key in RESUMABLE_OVERRIDES:
        if key in explicit:
            setattr(saved, key, getattr(config, key))
    return saved, checkpoint


def train(
    config: TrainConfig,
    *,
    on_event: EventSink = lambda kind, payload: None,
    should_stop: Callable[[], bool] = lambda: False,
    resume: Path | None = None,
    explicit: set[str] | None = None,
) -> TrainResult:
    """Train per ``config`` (or continue ``resume``), writing a run directory. See docs/training.md."""
    config, checkpoint = _resolve_resume(config, resume, explicit or set())
    config.validate()
    ignored = sorted((explicit or set()) - set(RESUMABLE_OVERRIDES) - {"resume"}) if checkpoint else []
    if ignored:
        on_event("warning", {"message": f"ignored when resuming (the checkpoint's values are used): {', '.join(ignored)}"})
    if config.threads:
        torch.set_num_threads(config.threads)
    if config.deterministic:
        torch.use_deterministic_algorithms(True)
    device = resolve_device(config.device)
    group = from_environment(device.type)
    try:
        result = _train(config, checkpoint, resume, device, group, on_event if group.is_main else _quiet, should_stop)
    except LenetError:  # raised on every rank alike (the ranks agree before raising)
        group.shutdown()
        raise
    except BaseException:  # unexpected, perhaps on one rank only: leave without waiting for the others
        group.shutdown(in_step=False)
        raise
    group.shutdown()
    return result


def _quiet(kind: str, payload: dict[str, Any]) -> None:
    """Events of the non-zero ranks: only rank 0 reports."""


def _train(config: TrainConfig, checkpoint: dict | None, resume: Path | None, device: torch.device,
           group: Distributed, on_event: EventSink, should_stop: Callable[[], bool]) -> TrainResult:
    if device.type == "cuda" and group.enabled:
        device = torch.device("cuda", group.local_rank)
    if group.enabled and config.batch_size % group.world_size:
        raise UsageError(f"--batch-size {config.batch_size} must be a multiple of the {group.world_size} processes "
                         "(it is the global batch, split evenly between them)")
    if config.amp == "fp16" and device.type != "cuda":
        raise UsageError("--amp fp16 needs a CUDA device; on CPU use --amp bf16")
    # A random seed is drawn once, by rank 0, so that every rank trains the same model.
    seed = group.broadcast(config.seed if config.seed is not None else secrets.randbelow(2**31))
    config.seed = seed

    train_set = get_dataset(config.dataset, "train", data_dir=config.data_dir, offline=config.offline)
    test_set = get_dataset(config.dataset, "test", data_dir=config.data_dir, offline=config.offline)
    spec = train_set.spec
    model_spec = get_model_spec(config.model)
    model_args = {"in_channels": spec.channels, "num_classes": len(spec.classes), "input_size": model_spec.input_shape[1]}
    norm = _normalization(model_spec, spec, model_args["input_size"])
    if checkpoint is not None:
        norm = Normalization.from_dict(checkpoint["normalization"])
        if list(checkpoint["classes"]) != list(spec.classes) or checkpoint["model_args"] != model_args:
            raise LenetError(f"{resume}: the checkpoint does not match dataset {config.dataset!r} (classes or shape differ)")

    x_all = to_model_input(train_set.images, norm)
    y_all = train_set.labels
    n_val = int(round(len(y_all) * config.val_split))
    split = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(seed))
    val_idx, train_idx = split[:n_val].sort().values, split[n_val:].sort().values
    # channels_last: measured 1.3-1.6x faster for these small convolutions on CPU (bench/bench_train.py).
    layout = torch.channels_last
    if n_val:
        x_train, y_train = x_all[train_idx], y_all[train_idx]
    else:  # no copy of the largest tensor when nothing is held out
        x_train, y_train = x_all, y_all
    x_train, y_train = x_train.to(device, memory_format=layout), y_train.to(device)
    x_val, y_val = x_all[val_idx].to(device, memory_format=layout), y_all[val_idx].to(device)
    del x_all
    x_test = to_model_input(test_set.images, norm).to(device, memory_format=layout)
    y_test = test_set.labels.to(device)
    if len(y_train) == 0:
        raise UsageError("No training images left; lower --val-split")

    torch.manual_seed(seed)  # model initialisation
    model = get_model(config.model, **model_args).to(device, memory_format=layout)
    loss_kind = loss_name(model, config.loss, config.model)
    criterion, eval_criterion = make_criterion(loss_kind, config.label_smoothing), make_criterion(loss_kind)
    optimizer = _make_optimizer(config, model)
    steps_per_epoch = _steps_per_epoch(len(y_train), config.batch_size, group.world_size)
    scheduler = _make_scheduler(config, optimizer, config.epochs * steps_per_epoch)
    # Each rank distorts its own images, so each has its own augmentation stream.
    augment_rng = torch.Generator().manual_seed(seed + 1 + 7919 * group.rank)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.amp)
    scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")
    background = ((torch.zeros(spec.channels) - torch.tensor(norm.mean)) / torch.tensor(norm.std)).to(device)

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"metric": -1.0, "epoch": None, "test_acc": None}
    start_epoch, start_step, sums = 0, 0, [0.0, 0, 0, 0.0]  # loss sum, correct, seen, seconds
    if checkpoint is not None:
        model.load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if checkpoint["config"]["epochs"] == config.epochs:
            scheduler.load_state_dict(checkpoint["scheduler"])
        else:  # a longer (or shorter) run: the schedule is re-planned and continues from here
            scheduler = _make_scheduler(config, optimizer, config.epochs * steps_per_epoch)
            with warnings.catch_warnings():  # stepping a schedule without optimizer steps is the point here
                warnings.simplefilter("ignore", UserWarning)
                for _ in range(checkpoint["position"]["global_step"]):
                    scheduler.step()
        saved_rng = checkpoint["rng"]
        if saved_rng.get("world_size", 1) != group.world_size:
            raise LenetError(f"{resume}: saved by {saved_rng.get('world_size', 1)} process(es); resume it with the same "
                             f"number (--nproc {saved_rng.get('world_size', 1)})")
        augment_rng.set_state(saved_rng["augment_per_rank"][group.rank] if "augment_per_rank" in saved_rng
                              else saved_rng["augment"])
        if "scaler" in checkpoint and config.amp == "fp16":
            scaler.load_state_dict(checkpoint["scaler"])
        start_epoch, start_step = checkpoint["position"]["epoch"], checkpoint["position"]["step"]
        sums = list(checkpoint["position"]["sums"])
        history, best = list(checkpoint["history"]), dict(checkpoint["best"])
        run_dir = Path(resume).parent
    else:
        # Only rank 0 touches the disk; the others learn whether it could, so none waits forever.
        run_dir, problem = None, None
        if group.is_main:
            try:
                run_dir = make_run_dir(config.project, config.name)
                write_text(run_dir / "config.toml", to_toml(config))
            except LenetError as exc:
                problem = exc
        if group.broadcast(problem is not None):
            raise problem or LenetError("rank 0 could not create the run directory")
        run_dir = Path(group.broadcast(str(run_dir)))

    result = TrainResult("completed", run_dir, len(history), seed, history=history, is_main=group.is_main)
    if history:
        result.best_epoch, result.best_test_accuracy = best["epoch"], best["test_acc"]
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    if best_path.exists():
        result.best_checkpoint = best_path
    if checkpoint is not None:
        result.last_checkpoint = last_path

    raw_model = model
    if config.compile:
        model = torch.compile(model)
    if group.enabled:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def snapshot(epoch: int, step: int) -> dict[str, Any]:
        """A resumable checkpoint; collective (every rank's RNG state is gathered), so every rank calls it."""
        global_step = epoch * steps_per_epoch + step
        rng_states = group.gather(augment_rng.get_state())
        return {
            "model": config.model, "model_args": model_args, "classes": list(spec.classes),
            "dataset": config.dataset, "image_size": list(spec.size), "normalization": norm.to_dict(),
            "config": config.to_dict(), "loss": loss_kind,
            "seed": seed, "lenet_version": __version__,
            "state_dict": raw_model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), **({"scaler": scaler.state_dict()} if scaler.is_enabled() else {}),
            "rng": {"augment": rng_states[0], "augment_per_rank": rng_states, "world_size": group.world_size},
            "position": {"epoch": epoch, "step": step, "global_step": global_step, "sums": list(sums)},
            "history": list(history), "best": dict(best),
            "metrics": history[-1] if history else {},
        }

    on_event("start", {
        "run_dir": str(run_dir), "epochs": config.epochs, "start_epoch": start_epoch, "start_step": start_step,
        "steps_per_epoch": steps_per_epoch, "train_size": len(y_train), "val_size": n_val,
        "test_size": len(y_test), "device": str(device), "seed": seed, "data_source": train_set.source,
        "model": config.model, "dataset": config.dataset, "threads": torch.get_num_threads(),
        "world_size": group.world_size,
    })
    started = time.perf_counter()
    epochs_since_best = 0 if not history else len(history) - (best["epoch"] or 0)
    model.train()
    for epoch in range(start_epoch, config.epochs):
        order = _epoch_permutation(seed, epoch, len(y_train)).to(device)
        epoch_start = time.perf_counter() - sums[3]
        for step in range(start_step if epoch == start_epoch else 0, steps_per_epoch):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            idx = idx[group.rank :: group.world_size]  # this rank's share of the global batch
            xb, yb = x_train[idx], y_train[idx]
            if config.augment == "affine":
                xb = random_affine(xb, augment_rng, background)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(xb)
                loss = criterion(logits.float(), yb)
            loss_value = loss.item()
            (diverged,) = group.any(not math.isfinite(loss_value))  # every rank stops, or none
            if diverged:
                if group.is_main:
                    _record_run(run_dir, config, result, train_set, test_set, started, "diverged", group.world_size)
                where = f"{last_path} (epoch {len(history)})" if result.last_checkpoint else "none was written yet"
                raise TrainingDiverged(
                    f"Loss became non-finite at epoch {epoch + 1}, step {step + 1}; training stopped. "
                    f"Last good checkpoint: {where}. Try a lower --lr (was {config.lr})"
                )
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            sums[0] += loss_value * len(yb)
            sums[1] += int((logits.argmax(1) == yb).sum())
            sums[2] += len(yb)
            on_event("step", {"epoch": epoch + 1, "step": step + 1, "steps": steps_per_epoch, "loss": loss_value})
            (stop,) = group.any(should_stop())
            if stop:
                sums[3] = time.perf_counter() - epoch_start
                state = snapshot(epoch, step + 1)
                if group.is_main:
                    save_checkpoint(last_path, state)
                result.last_checkpoint, result.status = last_path, "interrupted"
                result.seconds = time.perf_counter() - started
                if group.is_main:
                    _record_run(run_dir, config, result, train_set, test_set, started, "interrupted", group.world_size)
                return result
        train_seconds = time.perf_counter() - epoch_start
        # Each rank evaluates its share of the held-out images; the sums are gathered.
        shard = slice(group.rank, None, group.world_size)
        totals = group.sum([*sums[:3], *evaluate_sums(raw_model, x_test[shard], y_test[shard], eval_criterion),
                            *evaluate_sums(raw_model, x_val[shard], y_val[shard], eval_criterion)])
        train_totals, (test_loss, test_acc), val_totals = totals[:3], _means(totals[3:6]), _means(totals[6:9])
        val_loss, val_acc = val_totals if n_val else (None, None)
        row = {
            "epoch": epoch + 1, "train_loss": train_totals[0] / train_totals[2],
            "train_acc": train_totals[1] / train_totals[2],
            "val_loss": val_loss, "val_acc": val_acc, "test_loss": test_loss, "test_acc": test_acc,
            "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - epoch_start, 3),
            "images_per_s": round(train_totals[2] / train_seconds, 1),
        }
        history.append(row)
        sums = [0.0, 0, 0, 0.0]
        monitored = val_acc if n_val else test_acc
        improved = monitored > best["metric"]
        if improved:
            best = {"metric": monitored, "epoch": epoch + 1, "test_acc": test_acc}
            epochs_since_best = 0
        else:
            epochs_since_best += 1
        state = snapshot(epoch + 1, 0)
        if improved:
            if group.is_main:
                save_checkpoint(best_path, state)
            result.best_checkpoint, result.best_epoch, result.best_test_accuracy = best_path, epoch + 1, test_acc
        if group.is_main:
            save_checkpoint(last_path, state)
            write_metrics_csv(run_dir / "metrics.csv", history)
        result.last_checkpoint = last_path
        result.epochs, result.test_accuracy, result.test_loss = epoch + 1, test_acc, test_loss
        on_event("epoch", {**row, "epochs": config.epochs, "improved": improved})
        if config.patience is not None and epochs_since_best >= config.patience and epoch + 1 < config.epochs:
            result.status = "early_stopped"
            on_event("warning", {"message": f"early stopping: no improvement for {config.patience} epochs"})
            break
    if history:
        result.test_accuracy, result.test_loss = history[-1]["test_acc"], history[-1]["test_loss"]
    result.seconds = time.perf_counter() - started
    if not group.is_main:
        return result
    try:
        draw_curves(history, run_dir / "curves.png")
    except OSError as exc:
        on_event("warning", {"message": f"could not write curves.png: {exc}"})
    _record_run(run_dir, config, result, train_set, test_set, started, result.status, group.world_size)
    return result


def _means(sums: list[float]) -> tuple[float, float]:
    """(mean loss, accuracy) from (loss sum, correct, count)."""
    loss_sum, correct, count = sums
    return (loss_sum / count, correct / count) if count else (float("nan"), float("nan"))


def _steps_per_epoch(n: int, batch_size: int, world_size: int) -> int:
    """Batches per epoch; with several processes, a last batch too small to give every rank an image is dropped."""
    full, rest = divmod(n, batch_size)
    return full + (1 if rest >= world_size else 0)


def _record_run(run_dir: Path, config: TrainConfig, result: TrainResult, train_set: Any, test_set: Any,
                started: float, status: str, world_size: int = 1) -> None:
    """run.json: everything needed to trust and repeat the run."""
    files = {}
    for path in (result.best_checkpoint, result.last_checkpoint):
        if path is not None and path.exists():
            files[path.name] = sha256_file(path)
    write_json(run_dir / "run.json", {
        "status": status,
        "config": config.to_dict(),
        "seed": config.seed,
        "world_size": world_size,
        "versions": _versions(),
        "dataset": {"name": config.dataset, "source": train_set.source,
                    "train_sha256": train_set.fingerprint(), "test_sha256": test_set.fingerprint()},
        "result": {**result.to_dict(), "seconds": round(time.perf_counter() - started, 3)},
        "checkpoint_sha256": files,
        "history": result.history,
    })
