"""``lenet train``: options in, one call to the trainer, progress and a summary out."""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import Interrupted, UsageError
from ..training.config import CHOICES, TrainConfig, load_toml, to_toml
from ..training.distributed import is_main_process
from .guard import StopRequest, interrupted
from .console import err, new_table, out, print_json, print_note
from .options import (DataDirOption, DeviceOption, ModelOption, OfflineOption, argv_without, complete_datasets,
                      given_on_command_line, one_of)


_DEFAULT = TrainConfig()  # the CLI shows and uses the config's own defaults
def _stopping_notice() -> None:
    if is_main_process():  # in a distributed run, rank 0 speaks for all
        err().print("stopping after this step and saving last.pt (press Ctrl-C again to quit at once)",
                    markup=False, highlight=False)


# The closed sets of values, as types: the parser checks them and the shell completes them.
_Optimizer, _Scheduler, _Loss, _Augment, _Amp, _Log = (one_of(CHOICES[key]) for key in
                                                       ("optimizer", "scheduler", "loss", "augment", "amp", "log"))


def train_command(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Option(help="Dataset name (see `lenet datasets`), idx:DIR or folder:DIR.",
                                         autocompletion=complete_datasets)] = _DEFAULT.dataset,
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
    model: ModelOption = _DEFAULT.model,
    epochs: Annotated[int, typer.Option(help="Epochs to train.")] = _DEFAULT.epochs,
    batch_size: Annotated[int, typer.Option(help="Images per step.")] = _DEFAULT.batch_size,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = _DEFAULT.lr,
    optimizer: Annotated[_Optimizer, typer.Option(help="Optimizer.")] = _DEFAULT.optimizer,
    momentum: Annotated[float, typer.Option(help="SGD momentum in [0, 1); with --scheduler onecycle, the top of its momentum cycle.")] = _DEFAULT.momentum,
    weight_decay: Annotated[float, typer.Option(help="Weight decay.")] = _DEFAULT.weight_decay,
    scheduler: Annotated[_Scheduler, typer.Option(help="Learning-rate schedule.")] = _DEFAULT.scheduler,
    loss: Annotated[_Loss, typer.Option(help="auto: the model's own (eq9 for lenet5-classic, else cross-entropy).")] = _DEFAULT.loss,
    label_smoothing: Annotated[float, typer.Option(help="Cross-entropy label smoothing.")] = _DEFAULT.label_smoothing,
    augment: Annotated[_Augment, typer.Option(help="none: the images as they are; shift: moves of up to 2 px; affine: the paper's distortions; writing: also elastic, stroke thickness, blur.")] = _DEFAULT.augment,
    val_split: Annotated[float, typer.Option(help="Fraction of train held out, per class, to choose best.pt and stop early; 0: none (no best.pt).", show_default="1/12: 5,000 of MNIST's 60,000")] = _DEFAULT.val_split,
    patience: Annotated[Optional[int], typer.Option(help="Stop after N epochs without a better validation accuracy.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed, 0 to 4294967295 (default: random, always recorded).")] = None,
    deterministic: Annotated[bool, typer.Option("--deterministic", help="Use deterministic algorithms only.")] = False,
    device: DeviceOption = _DEFAULT.device,
    amp: Annotated[_Amp, typer.Option(help="Mixed precision; auto: bf16 autocast where the hardware computes bf16, else fp32 (fp16: CUDA only).")] = _DEFAULT.amp,
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile the model (worth it on GPUs).")] = False,
    nproc: Annotated[Optional[int], typer.Option(min=1, help="Train with N local processes (torch.distributed; gloo on CPU, NCCL on CUDA).")] = None,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads (default: all cores).")] = None,
    project: Annotated[str, typer.Option(help="Parent directory of runs.")] = _DEFAULT.project,
    name: Annotated[Optional[str], typer.Option(help="Run directory name (default: exp, exp2, ...).")] = None,
    resume: Annotated[Optional[Path], typer.Option(help="Continue the run saved in this last.pt.")] = None,
    fail_under: Annotated[Optional[float], typer.Option(help="Exit 3 if the last epoch's test accuracy (0..1) is below.")] = None,
    log: Annotated[_Log, typer.Option(help="Also log to TensorBoard: event files in the run directory (the tensorboard extra).")] = _DEFAULT.log,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML file with any of these options.")] = None,
    print_config: Annotated[bool, typer.Option("--print-config", help="Print the resolved options (defaults, then --config, then the command line) as TOML and exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout at the end.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train a model; validation chooses best.pt, the test split is measured every epoch for the record."""
    if nproc is not None and nproc > 1:
        raise typer.Exit(_launch(nproc))
    from ..api.training import train_with_config

    cfg, explicit = _resolve_config(ctx, config)
    if print_config:
        cfg.validate()
        sys.stdout.write(to_toml(cfg).replace("# Resolved configuration of this run", "# Resolved configuration"))
        return
    from .progress import TrainProgress  # rich.progress: only training draws it

    progress = TrainProgress(enabled=not quiet and is_main_process())
    with StopRequest(_stopping_notice) as stop, progress:
        try:
            result = train_with_config(cfg, resume=resume, explicit=explicit, progress=False,
                                       callbacks=[progress.handle], should_stop=stop)
        except KeyboardInterrupt:
            raise Interrupted("Interrupted at once; files on disk are intact (the last completed save)",
                              interrupted().exit_code) from None
    if result.is_main and as_json:  # the other ranks of a distributed run stay quiet; rank 0 reports
        print_json(result.to_dict())  # an interrupted run too: the documented object, status "interrupted"
    elif result.is_main:
        _print_summary(result)
    if result.status == "interrupted":  # a stop the user asked for: information, then exit 130 / 143
        print_note(f"stopped on request; resumable checkpoint saved: {result.last_checkpoint} "
                   f"(continue with: lenet train --resume {result.last_checkpoint})")
        raise typer.Exit(stop.exit_code)
    result.check_gate(cfg.fail_under)


def _resolve_config(ctx: typer.Context, config_file: Path | None) -> tuple[TrainConfig, set[str]]:
    """The run's TrainConfig: typed options beat the --config file, which beats the defaults.

    Also returns the training options set explicitly (typed or in the file), which a resume checks.
    """
    given = given_on_command_line(ctx) & {f.name for f in fields(TrainConfig)}
    from_file = load_toml(config_file) if config_file else {}
    values = dict(from_file)
    for f in fields(TrainConfig):
        if f.name in given or f.name not in values:
            values[f.name] = ctx.params[f.name] if f.name in ctx.params else f.default
    if values["data_dir"] is not None:
        values["data_dir"] = str(values["data_dir"])
    if not values.get("offline"):
        values["offline"] = None  # let LENET_OFFLINE decide
    return TrainConfig(**values), given | set(from_file)


def _launch(nproc: int) -> int:
    """Re-run this same command as ``nproc`` ranks (without --nproc); their exit code is ours."""
    from ..training.distributed import launch, launched_as_rank

    if launched_as_rank():
        raise UsageError("--nproc starts its own processes; under torchrun leave it out")
    return launch(nproc, argv_without("--nproc"))


def _outcome(result: Any) -> str:
    """What happened to the run, in words, for the summary's title."""
    if result.status == "early_stopped":
        return f"stopped early at epoch {result.epochs}"
    if result.status == "interrupted":
        return f"stopped on request during epoch {result.epochs + 1}"
    return result.status


def _print_summary(result: Any) -> None:
    """The run's outcome as a table on stdout."""
    table = new_table(title=f"Training {_outcome(result)}: {result.run_dir}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("epochs", str(result.epochs))
    if result.test_accuracy is not None:
        table.add_row("test accuracy (last epoch)", f"{result.test_accuracy:.2%}")
        table.add_row("test loss (last epoch)", f"{result.test_loss:.4f}")
    if result.best_epoch is not None:
        table.add_row("best epoch (on validation)", f"{result.best_epoch}: validation {result.best_val_accuracy:.2%}, "
                      f"test {result.best_test_accuracy:.2%}")
    elif result.epochs:
        table.add_row("best epoch", "none: no validation split (--val-split 0), so no best.pt; last.pt is the result")
    table.add_row("seed", str(result.seed))
    table.add_row("time", f"{result.seconds:.1f} s")
    for label, path in (("best checkpoint", result.best_checkpoint), ("last checkpoint", result.last_checkpoint)):
        if path is not None:
            table.add_row(label, str(path))
    out().print(table)
