"""The training loop: whole splits in memory, batches by index, exact resume, honest records.

``train()`` is a short list of phases over two objects: a ``Run`` (what stays
fixed: data, model, optimizer, where records go) and a ``TrainState`` (what
changes: position, sums, best epoch, history, RNG). Nothing here prints.
Progress goes to ``on_event(kind, payload)``, kinds "start", "step", "evaluate" (the
end-of-epoch passes begin), "epoch", "note" and "warning"; the caller asks for a clean
stop through ``should_stop()``, checked after every step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from .. import __version__
from ..checkpoint import load_checkpoint, save_checkpoint
from ..files import forget_input, remove_stale_temp_files, write_text
from ..data import get_dataset
from ..device import resolve_amp, resolve_device
from ..data.preprocess import Normalization, normalise, padded_uint8, to_model_input
from ..errors import DataFormatError, LenetError, TrainingDiverged, UsageError
from ..evaluation.curves import draw_curves
from ..evaluation.evaluate import evaluate_sums
from ..models import get_model, get_model_spec
from .sampling import epoch_permutation, split_validation, steps_per_epoch
from .augment import AUGMENTATIONS
from .config import TrainConfig, to_toml
from .distributed import Distributed, from_environment
from .optimization import loss_name, lr_range, make_criterion, make_optimizer, make_scheduler, replan_scheduler
from .run_writer import RunLock, TrainResult, lock_run_dir, make_run_dir, write_metrics_csv, write_run_record
from .state import TrainState, augment_generator
from .tensorboard import TensorBoardLog, require_tensorboard

__all__ = ["TrainResult", "train"]

EventSink = Callable[[str, dict[str, Any]], None]
# Options that may differ when continuing a run; everything else comes from the checkpoint.
RESUMABLE_OVERRIDES = ("epochs", "patience", "fail_under", "device", "threads", "data_dir", "offline", "amp", "compile",
                       "log")
# What a checkpoint needs, beyond the model, to continue training exactly.
RESUME_KEYS = ("config", "optimizer", "scheduler", "position", "rng", "best", "history")
# channels_last: faster for these small convolutions on CPU (docs/benchmarks.md, bench/bench_train.py).
LAYOUT = torch.channels_last


@dataclass
class Splits:
    """Each split's images and labels on the training device; ``inputs`` turns images into model input.

    Images that need only padding are kept as uint8 at the model's side, a quarter of the
    float input's memory (70 MB instead of 285 MB for MNIST), and normalised batch by batch
    to the same numbers; others (shrunk or resized) are kept as model input.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    norm: Normalization

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        """Model input of some of these images, in the layout the model runs in."""
        x = normalise(images, self.norm) if images.dtype == torch.uint8 else images
        return x.contiguous(memory_format=LAYOUT)


@dataclass
class Run:
    """What a run works with: data, model, optimizer and schedule, fixed once set up; then, set as the run
    proceeds, where the records go, the wrapped model, the clocks, and whether last.pt exists."""

    config: TrainConfig
    device: torch.device
    group: Distributed
    datasets: tuple[Any, Any]  # the train and test Dataset, for the record
    norm: Normalization
    model_args: dict[str, int]
    splits: Splits
    raw_model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any  # torch.amp.GradScaler, enabled for fp16 only
    precision: str  # what --amp resolved to on this device: bf16, fp16 or none (fp32)
    loss_kind: str
    steps_per_epoch: int
    eval_criterion: Callable  # the plain loss (no smoothing): validation, test and train_loss
    run_dir: Path = Path()
    model: torch.nn.Module | None = None  # raw_model, compiled and/or wrapped for DDP
    on_event: EventSink = lambda kind, payload: None
    should_stop: Callable[[], bool] = lambda: False
    started: float = 0.0
    epoch_start: float = 0.0  # when the epoch in progress began, less the time it ran before a resume
    last_saved: bool = False  # whether last.pt has been written (or came with a resume)
    lock: RunLock | None = None  # rank 0's hold on the run directory while it trains
    notes: list[str] = field(default_factory=list)  # said once training starts (e.g. a re-planned schedule)
    tensorboard: TensorBoardLog | None = None  # rank 0's event files, with --log tensorboard

    @property
    def last_path(self) -> Path:
        return self.run_dir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.run_dir / "best.pt"


def train(
    config: TrainConfig,
    *,
    on_event: EventSink = lambda kind, payload: None,
    should_stop: Callable[[], bool] = lambda: False,
    resume: Path | None = None,
    explicit: set[str] | None = None,
) -> TrainResult:
    """Train per ``config`` (or continue ``resume``), writing a run directory. See docs/training.md.

    ``config`` is left as it is: the run works on a copy (the seed it draws, a resume's saved options).
    """
    config, checkpoint = _resolve_resume(dataclasses.replace(config), resume, explicit or set())
    config.validate()
    if config.log == "tensorboard":
        require_tensorboard()  # exit 1, naming the install command, before any data is loaded
    ignored = sorted((explicit or set()) - set(RESUMABLE_OVERRIDES) - {"resume"}) if checkpoint else []
    if ignored:
        on_event("warning", {"message": f"ignored when resuming (the checkpoint's values are used): {', '.join(ignored)}"})
    with _torch_settings(config):
        device = resolve_device(config.device)
        group = from_environment(device.type)
        run = None
        try:
            run, state = _set_up(config, checkpoint, resume, device, group)
            run.on_event, run.should_stop = _events(run, on_event), should_stop
            result = _loop(run, state)
        except LenetError:  # raised on every rank alike (the ranks agree before raising)
            group.shutdown()
            raise
        except BaseException:  # unexpected, perhaps on one rank only: leave without waiting for the others
            group.shutdown(in_step=False)
            raise
        finally:
            if run is not None and run.tensorboard is not None:
                run.tensorboard.close()
            if run is not None and run.lock is not None:
                run.lock.release()
        group.shutdown()
    return result


def _events(run: Run, on_event: EventSink) -> EventSink:
    """Where rank 0's events go: the caller, and with --log tensorboard the run's event files too."""
    if not run.group.is_main:
        return _quiet
    if run.config.log != "tensorboard":
        return on_event
    run.tensorboard = TensorBoardLog(run.run_dir)

    def both(kind: str, payload: dict[str, Any]) -> None:
        run.tensorboard.on_event(kind, payload)  # type: ignore[union-attr]
        on_event(kind, payload)

    return both


@contextlib.contextmanager
def _torch_settings(config: TrainConfig) -> Iterator[None]:
    """Apply --threads and --deterministic for the run; the caller's settings come back afterwards."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    if config.threads:
        torch.set_num_threads(config.threads)
    if config.deterministic:
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _quiet(kind: str, payload: dict[str, Any]) -> None:
    """Events of the non-zero ranks: only rank 0 reports."""


def _resolve_resume(config: TrainConfig, resume: Path | None, explicit: set[str]) -> tuple[TrainConfig, dict | None]:
    """On resume the checkpoint's config wins, except for the options that may change."""
    if resume is None:
        return config, None
    checkpoint = load_checkpoint(resume)
    if "optimizer" not in checkpoint or "position" not in checkpoint:
        raise LenetError(f"{resume}: this checkpoint has no training state to resume from")
    missing = [key for key in RESUME_KEYS if key not in checkpoint]
    if missing:
        raise DataFormatError(f"{resume}: a damaged training checkpoint (no {', '.join(map(repr, missing))})")
    try:
        saved = TrainConfig(**checkpoint["config"])
    except TypeError as exc:
        raise DataFormatError(f"{resume}: its training configuration is not one this lenet reads ({exc})") from None
    try:
        get_model_spec(saved.model)
    except UsageError as exc:  # the checkpoint, not the command line, named it
        raise DataFormatError(f"{resume}: {exc}") from None
    for key in RESUMABLE_OVERRIDES:
        if key in explicit:
            setattr(saved, key, getattr(config, key))
    position = checkpoint["position"]
    needed = position["epoch"] + (1 if position["step"] else 0)  # an epoch in progress must be able to finish
    if saved.epochs < needed:
        started = f", and epoch {needed} is under way" if position["step"] else ""
        raise UsageError(f"{resume}: {position['epoch']} epoch(s) are already done{started}; "
                         f"--epochs must be at least {needed}, not {saved.epochs}")
    forget_input(resume)  # a resumed run goes on writing its own last.pt
    return saved, checkpoint


# --- phase 1: set up data, model and state -------------------------------------------------------

def _set_up(config: TrainConfig, checkpoint: dict | None, resume: Path | None, device: torch.device,
            group: Distributed) -> tuple[Run, TrainState]:
    """Everything before the first step: checks, data, model, optimizer, state, run directory."""
    if device.type == "cuda" and group.enabled:
        device = torch.device("cuda", group.local_rank)
    if group.enabled and config.batch_size % group.world_size:
        raise UsageError(f"--batch-size {config.batch_size} must be a multiple of the {group.world_size} processes "
                         "(it is the global batch, split evenly between them)")
    if config.amp == "fp16" and device.type != "cuda":
        raise UsageError("--amp fp16 needs a CUDA device; on CPU use --amp bf16")
    # A random seed is drawn once, by rank 0, so that every rank trains the same model.
    config.seed = group.broadcast(config.seed if config.seed is not None else secrets.randbelow(2**31))
    run = _build_run(config, checkpoint, resume, device, group)
    if checkpoint is None:
        state = TrainState(augment_generator(config.seed, group.rank))
        run.run_dir, run.lock = _claim_run_dir(config, group)
    else:
        state = _restore(run, checkpoint, resume)
        run.run_dir, run.last_saved = Path(resume).parent, True
        if group.is_main:  # one process at a time; a run killed mid-write left its temp files here
            run.lock = lock_run_dir(run.run_dir, new=False)
            remove_stale_temp_files(run.run_dir)
    run.model = _wrap_model(run)
    return run, state


def _build_run(config: TrainConfig, checkpoint: dict | None, resume: Path | None, device: torch.device,
               group: Distributed) -> Run:
    """Load the splits and build the model, loss, optimizer and schedule the config asks for."""
    datasets = tuple(get_dataset(config.dataset, split, data_dir=config.data_dir, offline=config.offline)
                     for split in ("train", "test"))
    spec, model_spec = datasets[0].spec, get_model_spec(config.model)
    model_args = {"in_channels": spec.channels, "num_classes": len(spec.classes), "input_size": model_spec.input_shape[1]}
    norm = Normalization.for_model(model_spec, spec, model_args["input_size"])
    if checkpoint is not None:
        norm = Normalization.from_dict(checkpoint["normalization"])
        if list(checkpoint["classes"]) != list(spec.classes) or checkpoint["model_args"] != model_args:
            raise LenetError(f"{resume}: the checkpoint does not match dataset {config.dataset!r} (classes or shape differ)")
    splits = _load_splits(datasets, norm, config, device)
    torch.manual_seed(config.seed)  # model initialisation
    model = get_model(config.model, **model_args).to(device, memory_format=LAYOUT)
    optimizer = make_optimizer(config, model)
    steps = steps_per_epoch(len(splits.y_train), config.batch_size, group.world_size)
    precision = resolve_amp(config.amp, device)
    return Run(
        config, device, group, datasets, norm, model_args, splits, model, optimizer,
        scheduler=make_scheduler(config, optimizer, config.epochs * steps),
        scaler=torch.amp.GradScaler(device.type, enabled=precision == "fp16"), precision=precision,
        loss_kind=(kind := loss_name(model, config.loss, config.model)), steps_per_epoch=steps,
        eval_criterion=make_criterion(kind),
    )


def _load_splits(datasets: tuple[Any, Any], norm: Normalization, config: TrainConfig, device: torch.device) -> Splits:
    """Model input for train, validation (held out of train by the seed) and test, on ``device``."""
    train_set, test_set = datasets
    images, labels = train_set.images, train_set.labels
    val_idx, train_idx = split_validation(labels, config.val_split, config.seed)

    def stored(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        canvas = padded_uint8(x, norm)
        return (canvas if canvas is not None else to_model_input(x, norm)).to(device), y.to(device)

    train = stored(images[train_idx], labels[train_idx]) if len(val_idx) else stored(images, labels)
    splits = Splits(*train, *stored(images[val_idx], labels[val_idx]), *stored(test_set.images, test_set.labels),
                    norm)
    if len(splits.y_train) == 0:
        raise UsageError("No training images left; lower --val-split")
    return splits


def _restore(run: Run, checkpoint: dict[str, Any], resume: Path | None) -> TrainState:
    """Model, optimizer, schedule, scaler and TrainState as the checkpoint left them."""
    config, group = run.config, run.group
    try:
        run.raw_model.load_state_dict(checkpoint["state_dict"])
        run.optimizer.load_state_dict(checkpoint["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:  # weights or optimizer state of another shape
        raise DataFormatError(f"{resume}: its saved state does not fit model {config.model!r} "
                              f"({str(exc).strip().splitlines()[0][:160]})") from None
    if checkpoint["config"]["epochs"] == config.epochs:
        run.scheduler.load_state_dict(checkpoint["scheduler"])
    else:  # a longer (or shorter) run: the schedule is re-planned and continues from here
        total, done = config.epochs * run.steps_per_epoch, checkpoint["position"]["global_step"]
        run.scheduler = replan_scheduler(config, run.optimizer, total, done)
        peak, final = lr_range(config)
        run.notes.append(f"--epochs {config.epochs} (was {checkpoint['config']['epochs']}): the {config.scheduler} "
                         f"schedule is re-planned over {total} steps and continues at step {done}; "
                         f"peak lr {peak:.3g}, final lr {final:.3g}")
    saved_world = checkpoint["rng"].get("world_size", 1)
    if saved_world != group.world_size:
        raise LenetError(f"{resume}: saved by {saved_world} process(es); resume it with the same "
                         f"number (--nproc {saved_world})")
    if "scaler" in checkpoint and run.precision == "fp16":
        run.scaler.load_state_dict(checkpoint["scaler"])
    return TrainState.restore(checkpoint, group.rank)


def _claim_run_dir(config: TrainConfig, group: Distributed) -> tuple[Path, RunLock | None]:
    """A new run directory with config.toml. Only rank 0 touches the disk; the others learn whether it could."""
    run_dir, lock, problem = None, None, None
    if group.is_main:
        try:
            run_dir, lock = make_run_dir(config.project, config.name)
            write_text(run_dir / "config.toml", to_toml(config))
        except LenetError as exc:
            problem = exc
            if lock is not None:
                lock.release()
    if group.broadcast(problem is not None):
        raise problem or LenetError("rank 0 could not create the run directory")
    return Path(group.broadcast(str(run_dir))), lock


def _wrap_model(run: Run) -> torch.nn.Module:
    """The model the steps call: compiled on request, wrapped for DistributedDataParallel with several ranks."""
    model = torch.compile(run.raw_model) if run.config.compile else run.raw_model
    if run.group.enabled:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[run.device.index] if run.device.type == "cuda" else None)
    return model


# --- phase 2: the epochs -------------------------------------------------------------------------

def _loop(run: Run, state: TrainState) -> TrainResult:
    """Epochs until the planned end, an early stop, or a stop request."""
    for note in (note for dataset in run.datasets for note in dataset.notes):
        run.on_event("warning", {"message": note})
    for note in run.notes:
        run.on_event("note", {"message": note})
    run.on_event("start", _start_payload(run, state))
    run.started = time.perf_counter()
    run.model.train()
    while state.epoch < run.config.epochs:
        if not _run_epoch(run, state):
            return _stop_and_save(run, state)
        _end_epoch(run, state)
        if _early_stop_due(run.config, state):
            run.on_event("note", {"message": f"stopped early at epoch {state.epoch}: validation accuracy has not "
                                             f"improved for {run.config.patience} epochs (--patience)"})
            return _finish(run, state, "early_stopped")
    return _finish(run, state, "completed")


def _start_payload(run: Run, state: TrainState) -> dict[str, Any]:
    train_set, splits = run.datasets[0], run.splits
    return {
        "run_dir": str(run.run_dir), "epochs": run.config.epochs, "start_epoch": state.epoch, "start_step": state.step,
        "steps_per_epoch": run.steps_per_epoch, "train_size": len(splits.y_train), "val_size": len(splits.y_val),
        "test_size": len(splits.y_test), "device": str(run.device), "seed": run.config.seed,
        "data_source": train_set.source, "model": run.config.model, "dataset": run.config.dataset,
        "threads": torch.get_num_threads(), "world_size": run.group.world_size, "precision": run.precision,
    }


def _run_epoch(run: Run, state: TrainState) -> bool:
    """The remaining steps of epoch ``state.epoch``; False when a stop was requested (state is mid-epoch)."""
    config, group, splits = run.config, run.group, run.splits
    order = epoch_permutation(config.seed, state.epoch, len(splits.y_train)).to(run.device)
    run.epoch_start = time.perf_counter() - state.sums.seconds
    smoothed = config.label_smoothing and run.loss_kind == "cross-entropy"  # the RBF losses take no smoothing
    criterion = make_criterion(run.loss_kind, config.label_smoothing) if smoothed else run.eval_criterion
    background = ((torch.zeros(run.norm.channels) - torch.tensor(run.norm.mean)) / torch.tensor(run.norm.std)).to(run.device)
    while state.step < run.steps_per_epoch:
        idx = order[state.step * config.batch_size : (state.step + 1) * config.batch_size]
        idx = idx[group.rank :: group.world_size]  # this rank's share of the global batch
        xb, yb = splits.inputs(splits.x_train[idx]), splits.y_train[idx]
        if config.augment != "none":
            xb = AUGMENTATIONS[config.augment](xb, state.augment_rng, background)
        loss_value = _step(run, state, xb, yb, criterion)
        state.step += 1
        run.on_event("step", {"epoch": state.epoch + 1, "step": state.step, "steps": run.steps_per_epoch,
                              "loss": loss_value, "lr": run.optimizer.param_groups[0]["lr"],
                              "global_step": state.epoch * run.steps_per_epoch + state.step})
        (stop,) = group.any(run.should_stop())
        if stop:
            state.sums.seconds = time.perf_counter() - run.epoch_start
            return False
    return True


def _step(run: Run, state: TrainState, xb: torch.Tensor, yb: torch.Tensor, criterion: Callable) -> float:
    """One optimisation step; raises TrainingDiverged (on every rank) when the loss is not finite."""
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(run.precision)
    with torch.autocast(run.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        logits = run.model(xb)
        loss = criterion(logits.float(), yb)
    loss_value = loss.item()
    # The loss the test and validation splits are measured with (no label smoothing), from the same logits.
    with torch.no_grad():
        plain = loss_value if criterion is run.eval_criterion else run.eval_criterion(logits.float(), yb).item()
    (diverged,) = run.group.any(not math.isfinite(loss_value))  # every rank stops, or none
    if diverged:
        _diverged(run, state)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.scheduler.step()
    state.sums.add(plain, int((logits.argmax(1) == yb).sum()), len(yb), objective=loss_value)
    return loss_value


def _diverged(run: Run, state: TrainState) -> None:
    """Record the run as diverged and raise; last.pt stays the last good epoch's."""
    if run.group.is_main:
        _record(run, state, "diverged")
    where = f"{run.last_path} (epoch {len(state.history)})" if run.last_saved else "none was written yet"
    raise TrainingDiverged(
        f"Loss became non-finite at epoch {state.epoch + 1}, step {state.step + 1}; training stopped. "
        f"Last good checkpoint: {where}. Try a lower --lr (was {run.config.lr})"
    )


def _end_epoch(run: Run, state: TrainState) -> bool:
    """Evaluate, append the epoch's row, save best.pt / last.pt and metrics.csv; True when it improved."""
    train_seconds = time.perf_counter() - run.epoch_start
    run.on_event("evaluate", {"epoch": state.epoch + 1, "epochs": run.config.epochs})
    row = _epoch_row(run, state, train_seconds)
    state.end_epoch(row)
    # Only the validation split chooses; without one there is no best epoch, only the last.
    improved = row["val_acc"] is not None and state.improve(row["val_acc"], row["test_acc"])
    checkpoint = _snapshot(run, state)
    if run.group.is_main:
        if improved:
            save_checkpoint(run.best_path, checkpoint)
        save_checkpoint(run.last_path, checkpoint)
        write_metrics_csv(run.run_dir / "metrics.csv", state.history)
    run.last_saved = True
    run.on_event("epoch", {**row, "epochs": run.config.epochs, "improved": improved})
    return improved


def _epoch_row(run: Run, state: TrainState, train_seconds: float) -> dict[str, Any]:
    """The epoch's metrics: training sums, then test and validation evaluated, each rank on its shard."""
    group, splits = run.group, run.splits
    shard = slice(group.rank, None, group.world_size)
    sums = state.sums
    totals = group.sum([sums.loss, sums.correct, sums.seen, sums.objective,
                        *evaluate_sums(run.raw_model, splits.x_test[shard], splits.y_test[shard], run.eval_criterion,
                                       inputs=splits.inputs),
                        *evaluate_sums(run.raw_model, splits.x_val[shard], splits.y_val[shard], run.eval_criterion,
                                       inputs=splits.inputs)])
    train_totals, (test_loss, test_acc), val_totals = totals[:4], _means(totals[4:7]), _means(totals[7:10])
    val_loss, val_acc = val_totals if len(splits.y_val) else (None, None)
    return {
        "epoch": state.epoch + 1, "train_loss": train_totals[0] / train_totals[2],
        "train_acc": train_totals[1] / train_totals[2], "train_objective": train_totals[3] / train_totals[2],
        "val_loss": val_loss, "val_acc": val_acc, "test_loss": test_loss, "test_acc": test_acc,
        "lr": run.optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - run.epoch_start, 3),
        "images_per_s": round(train_totals[2] / train_seconds, 1),
    }


def _means(sums: list[float]) -> tuple[float, float]:
    """(mean loss, accuracy) from (loss sum, correct, count)."""
    loss_sum, correct, count = sums
    return (loss_sum / count, correct / count) if count else (float("nan"), float("nan"))


def _early_stop_due(config: TrainConfig, state: TrainState) -> bool:
    return (config.patience is not None and state.epochs_since_best >= config.patience
            and state.epoch < config.epochs)


def _snapshot(run: Run, state: TrainState) -> dict[str, Any]:
    """A resumable checkpoint; collective (every rank's RNG state is gathered), so every rank calls it."""
    rng_states = run.group.gather(state.augment_rng.get_state())
    config, spec = run.config, run.datasets[0].spec
    return {
        "model": config.model, "model_args": run.model_args, "classes": list(spec.classes),
        "dataset": config.dataset, "image_size": list(spec.size), "normalization": run.norm.to_dict(),
        "config": config.to_dict(), "loss": run.loss_kind, "seed": config.seed, "lenet_version": __version__,
        "state_dict": run.raw_model.state_dict(), "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(), **({"scaler": run.scaler.state_dict()} if run.scaler.is_enabled() else {}),
        **state.snapshot(run.steps_per_epoch, rng_states, run.group.world_size),
    }


# --- phase 3: finish -----------------------------------------------------------------------------

def _stop_and_save(run: Run, state: TrainState) -> TrainResult:
    """A requested stop: save a mid-epoch last.pt that resumes exactly, and record the run as interrupted."""
    checkpoint = _snapshot(run, state)
    if run.group.is_main:
        save_checkpoint(run.last_path, checkpoint)
    run.last_saved = True
    if run.group.is_main:
        _draw_curves(run, state)
        _record(run, state, "interrupted")
    return _result(run, state, "interrupted")


def _finish(run: Run, state: TrainState, status: str) -> TrainResult:
    """The end of a run: curves.png and run.json (rank 0 only)."""
    result = _result(run, state, status)
    if not run.group.is_main:
        return result
    _draw_curves(run, state)
    _record(run, state, status)
    _finish_tensorboard(run, result)
    return result


def _finish_tensorboard(run: Run, result: TrainResult) -> None:
    """The end of the event files: the last model's confusion matrix and mistakes on test, the HParams entry."""
    if run.tensorboard is not None:
        run.tensorboard.finish(run.raw_model, run.splits.inputs(run.splits.x_test), run.splits.y_test,
                               run.datasets[1].images, list(run.datasets[0].spec.classes), run.config.to_dict(),
                               result.to_dict())


def _draw_curves(run: Run, state: TrainState) -> None:
    """curves.png of the epochs so far; a picture that cannot be written costs a warning, never the run."""
    title = f"{run.run_dir.name}: {run.config.model} on {run.config.dataset}"
    try:
        draw_curves(state.history, run.run_dir / "curves.png", title, run.loss_kind)
    except OSError as exc:
        run.on_event("warning", {"message": f"could not write curves.png: {exc}"})


def _result(run: Run, state: TrainState, status: str) -> TrainResult:
    """What the caller reports, from the state as it stands."""
    last = state.history[-1] if state.history else {}
    best = state.best if state.history and state.best.epoch is not None else None
    return TrainResult(
        status, run.run_dir, len(state.history), run.config.seed,
        test_accuracy=last.get("test_acc"), test_loss=last.get("test_loss"),
        best_epoch=best.epoch if best else None, best_val_accuracy=best.metric if best else None,
        best_test_accuracy=best.test_acc if best else None,
        best_checkpoint=run.best_path if best else None,
        last_checkpoint=run.last_path if run.last_saved else None,
        seconds=time.perf_counter() - run.started, history=state.history, is_main=run.group.is_main,
    )


def _record(run: Run, state: TrainState, status: str) -> None:
    """run.json for the run as it stands."""
    result = _result(run, state, status)
    train_set, test_set = run.datasets
    write_run_record(
        run.run_dir, status=status, config=run.config.to_dict(), world_size=run.group.world_size,
        dataset={"name": run.config.dataset, "source": train_set.source,
                 "train_sha256": train_set.fingerprint(), "test_sha256": test_set.fingerprint()},
        result=result.to_dict(), checkpoints=[result.best_checkpoint, result.last_checkpoint], history=state.history,
        loss=run.loss_kind, precision=run.precision,
    )
