"""The training phases' parts, tested directly: state round-trip, schedule re-planning, steps per epoch."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from conftest import write_mnist_files
from lenet_cli.checkpoint import load_checkpoint
from lenet_cli import device
from lenet_cli.training import optimization, sampling, trainer
from lenet_cli.training.config import TrainConfig
from lenet_cli.training.state import Best, EpochSums, TrainState, augment_generator


def _state() -> TrainState:
    state = TrainState(augment_generator(5, rank=1))
    torch.rand(7, generator=state.augment_rng)  # the stream has moved on
    state.sums.add(0.5, 3, 4)
    state.sums.add(0.25, 2, 4)
    state.sums.seconds = 1.5
    state.step = 2
    return state


def test_epoch_sums_add_up_per_image() -> None:
    sums = _state().sums
    assert (sums.loss, sums.correct, sums.seen) == (3.0, 5, 8)  # 0.5 * 4 + 0.25 * 4
    assert EpochSums.from_list(sums.to_list()) == sums
    sums.add(1.0, 1, 2, objective=1.5)
    assert (sums.loss, sums.objective) == (5.0, 6.0)
    assert EpochSums.from_list([3.0, 5, 8, 1.5]) == EpochSums(3.0, 5, 8, 1.5, 3.0)  # a checkpoint from before


def test_state_round_trips_through_a_snapshot() -> None:
    state = _state()
    state.end_epoch({"epoch": 1, "test_acc": 0.5})
    assert state.improve(0.7, 0.5) and state.best == Best(0.7, 1, 0.5)
    state.sums.add(1.0, 1, 2)
    state.step = 3
    other_rank = augment_generator(5, rank=0).get_state()
    saved = state.snapshot(steps_per_epoch=10, rng_states=[other_rank, state.augment_rng.get_state()], world_size=2)
    assert saved["position"] == {"epoch": 1, "step": 3, "global_step": 13, "sums": [2.0, 1, 2, 0.0, 2.0]}
    restored = TrainState.restore(saved, rank=1)
    assert (restored.epoch, restored.step, restored.sums, restored.best) == (1, 3, state.sums, state.best)
    assert restored.history == state.history and restored.history is not state.history
    # the restored RNG continues exactly where the saved one was
    assert torch.equal(torch.rand(5, generator=restored.augment_rng), torch.rand(5, generator=state.augment_rng))
    assert not torch.equal(TrainState.restore(saved, rank=0).augment_rng.get_state(), restored.augment_rng.get_state())


def test_best_and_patience_bookkeeping() -> None:
    state = TrainState(augment_generator(0))
    for epoch, metric in enumerate([0.5, 0.6, 0.55, float("nan")], start=1):
        state.end_epoch({"epoch": epoch})
        state.improve(metric, metric)
    assert state.best.epoch == 2 and state.epochs_since_best == 2  # NaN never counts as an improvement
    assert state.epoch == 4 and state.step == 0 and state.sums == EpochSums()


@pytest.mark.parametrize("n, batch, world, steps", [
    (96, 32, 1, 3),  # whole batches
    (97, 32, 1, 4),  # a last batch of one image still runs alone
    (97, 32, 2, 3),  # ... but not with two ranks: one image cannot be split between them
    (98, 32, 2, 4),
    (10, 128, 1, 1),
])
def test_steps_per_epoch_rule(n: int, batch: int, world: int, steps: int) -> None:
    assert sampling.steps_per_epoch(n, batch, world) == steps


def test_epoch_order_is_a_pure_function_of_seed_and_epoch() -> None:
    first = sampling.epoch_permutation(3, 0, 50)
    assert torch.equal(first, sampling.epoch_permutation(3, 0, 50))
    assert sorted(first.tolist()) == list(range(50))
    assert not torch.equal(first, sampling.epoch_permutation(3, 1, 50))
    assert not torch.equal(first, sampling.epoch_permutation(4, 0, 50))


def _lr(config: TrainConfig, total: int, done: int) -> float:
    optimizer = optimization.make_optimizer(config, torch.nn.Linear(2, 2))
    optimization.replan_scheduler(config, optimizer, total, done)
    return optimizer.param_groups[0]["lr"]


def test_replanned_schedule_continues_at_its_position() -> None:
    cosine = TrainConfig(scheduler="cosine", lr=0.1)
    assert _lr(cosine, 100, 0) == pytest.approx(0.1)
    assert _lr(cosine, 100, 50) == pytest.approx(0.05)  # half way down a cosine
    assert _lr(cosine, 200, 50) == pytest.approx(0.1 * (1 + math.cos(math.pi / 4)) / 2)  # a longer run: higher lr
    onecycle = TrainConfig(scheduler="onecycle", lr=0.1)
    assert _lr(onecycle, 100, 30) == pytest.approx(0.1, rel=1e-3)  # one-cycle peaks at 30 % of the run
    assert _lr(onecycle, 200, 30) < 0.1  # re-planned for twice the steps, still warming up
    step = TrainConfig(scheduler="step", lr=0.1)
    assert _lr(step, 100, 49) == pytest.approx(0.1) and _lr(step, 100, 50) == pytest.approx(0.01)


def test_resume_with_more_epochs_follows_the_replanned_schedule(tmp_path: Path) -> None:
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=64, n_test=16)}"
    config = TrainConfig(dataset=data, project=str(tmp_path), name="run", epochs=1, batch_size=16, seed=1,
                         scheduler="cosine", lr=0.01, threads=1)
    first = trainer.train(config)
    assert first.history[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # a 4-step cosine ends at zero
    resumed = trainer.train(TrainConfig(epochs=4), resume=first.last_checkpoint, explicit={"epochs"})
    lrs = [row["lr"] for row in resumed.history[1:]]
    # re-planned as a 16-step cosine, continued from step 4: the lr rises again, halves at step 8, ends at zero
    expected = [0.01 * (1 + math.cos(math.pi * step / 16)) / 2 for step in (8, 12, 16)]
    assert lrs == pytest.approx(expected, abs=1e-12)
    assert load_checkpoint(resumed.last_checkpoint)["position"]["global_step"] == 16


def test_train_restores_the_global_torch_settings(tmp_path: Path) -> None:
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=32, n_test=16)}"
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    wanted = 1 if threads != 1 else 2
    trainer.train(TrainConfig(dataset=data, project=str(tmp_path), epochs=1, seed=0, threads=wanted,
                              deterministic=not deterministic))
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_validation_split_is_stratified_and_a_function_of_the_seed() -> None:
    labels = torch.arange(10).repeat_interleave(torch.arange(10, 110, 10))  # 10, 20, ..., 100 images a class
    val, train = sampling.split_validation(labels, 0.1, seed=3)
    assert torch.bincount(labels[val]).tolist() == list(range(1, 11))  # a tenth of every class
    assert sorted(torch.cat([val, train]).tolist()) == list(range(len(labels)))  # disjoint, nothing lost
    assert torch.equal(val, sampling.split_validation(labels, 0.1, seed=3)[0])
    assert not torch.equal(val, sampling.split_validation(labels, 0.1, seed=4)[0])
    none, everything = sampling.split_validation(labels, 0.0, seed=3)
    assert len(none) == 0 and torch.equal(everything, torch.arange(len(labels)))


def test_lr_range_matches_the_schedules() -> None:
    for scheduler in ("onecycle", "cosine", "step", "none"):
        config = TrainConfig(scheduler=scheduler, lr=0.02)
        optimizer = optimization.make_optimizer(config, torch.nn.Linear(2, 2))
        schedule = optimization.make_scheduler(config, optimizer, 40)
        rates = [optimizer.param_groups[0]["lr"]]
        for _ in range(40):
            optimizer.step()
            schedule.step()
            rates.append(optimizer.param_groups[0]["lr"])
        assert optimization.lr_range(config) == pytest.approx((max(rates), min(rates)), abs=1e-12), scheduler  # ends lowest


@pytest.mark.parametrize("native", [True, False])
def test_amp_auto_is_bf16_only_where_the_cpu_computes_it(monkeypatch, native: bool) -> None:
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, probe, lambda: native, raising=False)
    cpu = torch.device("cpu")
    assert device.resolve_amp("auto", cpu) == ("bf16" if native else "none")
    assert device.resolve_amp("none", cpu) == "none" and device.resolve_amp("bf16", cpu) == "bf16"
    assert device.resolve_amp("auto", torch.device("mps")) == "none"


def test_without_a_validation_split_nothing_is_chosen(tmp_path: Path) -> None:
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=64, n_test=16)}"
    result = trainer.train(TrainConfig(dataset=data, project=str(tmp_path), epochs=2, batch_size=16, seed=1,
                                       val_split=0.0, threads=1))
    assert result.best_epoch is None and result.best_checkpoint is None and not (result.run_dir / "best.pt").exists()
    assert result.last_checkpoint.exists() and result.test_accuracy == result.history[-1]["test_acc"]
    with pytest.raises(Exception, match="--patience stops on the validation split"):
        TrainConfig(val_split=0.0, patience=2).validate()


def test_resume_says_when_the_schedule_is_replanned(runner, tmp_path: Path) -> None:
    from lenet_cli.cli.app import app

    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=64, n_test=16)}"
    first = runner.invoke(app, ["train", "--dataset", data, "--project", str(tmp_path), "--epochs", "1",
                                "--batch-size", "16", "--lr", "0.01", "--threads", "1", "--quiet"])
    assert first.exit_code == 0, first.output
    result = runner.invoke(app, ["train", "--resume", str(tmp_path / "exp" / "last.pt"), "--epochs", "3", "--json"])
    assert result.exit_code == 0, result.output
    # 59 training images (5 held out): 4 steps an epoch
    assert "--epochs 3 (was 1): the onecycle schedule is re-planned over 12 steps and continues at step 4; " \
           "peak lr 0.01, final lr 4e-08" in result.stderr
    assert "ignored when resuming" not in result.stderr  # --json is not a training option


def test_writing_augmentation_is_seeded_keeps_blank_paper_and_changes_the_digit() -> None:
    from lenet_cli.training.augment import AUGMENTATIONS

    background = torch.tensor([-0.5])
    digits = torch.full((4, 1, 32, 32), -0.5)
    digits[:, :, 8:24, 14:18] = 2.0  # a bar of ink

    def run(seed: int) -> torch.Tensor:
        return AUGMENTATIONS["writing"](digits, torch.Generator().manual_seed(seed), background)

    assert torch.equal(run(3), run(3)) and not torch.equal(run(3), run(4))
    out = run(3)
    assert out.shape == digits.shape and not torch.allclose(out, digits)
    # paper far from the ink is exactly the background; bilinear blends of ink may round just past 2.0
    assert out.min() == -0.5 and out.max() <= 2.0 + 1e-5
    blank = AUGMENTATIONS["writing"](torch.full((2, 1, 32, 32), -0.5), torch.Generator().manual_seed(0), background)
    assert torch.allclose(blank, torch.full_like(blank, -0.5), atol=1e-5)  # no ink appears from nowhere


def _moved(image: torch.Tensor, dx: int, dy: int, background: torch.Tensor) -> torch.Tensor:
    """``image`` (C x H x W) moved by whole pixels (right and down when positive); each channel's
    ``background`` where uncovered."""
    h, w = image.shape[-2:]
    out = background.view(-1, 1, 1).expand_as(image).clone()
    out[:, max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)] = \
        image[:, max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)]
    return out


def test_shift_augmentation_moves_whole_pixels_every_way_and_is_seeded() -> None:
    from lenet_cli.training.augment import AUGMENTATIONS

    images = torch.rand(64, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    background = torch.tensor([-0.5, -0.25])
    out = AUGMENTATIONS["shift"](images, torch.Generator().manual_seed(1), background)
    moves = []
    for image, result in zip(images, out):
        matches = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)
                   if torch.equal(result, _moved(image, dx, dy, background))]
        assert len(matches) == 1, "not a whole-pixel move of the image"  # nothing blurred, nothing else
        moves += matches
    assert {dx for dx, _ in moves} == set(range(-2, 3)) and {dy for _, dy in moves} == set(range(-2, 3))
    assert torch.equal(out, AUGMENTATIONS["shift"](images, torch.Generator().manual_seed(1), background))


@pytest.mark.parametrize("content_scale, stored_dtype", [(1.0, torch.uint8), (0.8, torch.float32)])
def test_splits_are_stored_small_and_become_exactly_the_model_input(content_scale: float, stored_dtype) -> None:
    from types import SimpleNamespace

    from lenet_cli.data.preprocess import Normalization, to_model_input

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (50, 1, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.arange(50) % 10
    data = SimpleNamespace(images=images, labels=labels)
    norm = Normalization((0.1307,), (0.3081,), 32, 1, content_scale)
    splits = trainer._load_splits((data, data), norm, TrainConfig(dataset="mnist", val_split=0.2, seed=0),
                                  torch.device("cpu"))
    assert splits.x_test.dtype == stored_dtype and splits.x_test.shape[-2:] == (32, 32)
    assert len(splits.y_train) + len(splits.y_val) == 50
    model_input = splits.inputs(splits.x_test)
    assert torch.equal(model_input, to_model_input(images, norm))  # bit for bit, as it was when stored as floats
    assert model_input.is_contiguous(memory_format=torch.channels_last)


def test_train_leaves_its_config_alone(tmp_path: Path) -> None:
    """The seed a run draws and a resume's saved options go into the run's own copy."""
    from lenet_cli.training.config import TrainConfig

    config = TrainConfig(dataset="mnist", epochs=1, seed=None, project=str(tmp_path), val_split=0.0)
    before = dataclasses.asdict(config)
    stop_at_once = trainer.train(config, should_stop=lambda: True)
    assert stop_at_once.seed is not None and dataclasses.asdict(config) == before


def test_train_command_declares_every_config_field_with_its_default() -> None:
    """The command's options are TrainConfig's fields, with the same defaults (nothing restated can drift)."""
    import inspect

    from lenet_cli.cli.train import train_command
    from lenet_cli.training.config import TrainConfig

    parameters = inspect.signature(train_command).parameters
    for field in dataclasses.fields(TrainConfig):
        assert field.name in parameters, field.name
        default = parameters[field.name].default
        if field.name not in ("data_dir", "offline"):  # the CLI's Path and flag forms of "not given"
            assert default == field.default, (field.name, default, field.default)


@pytest.mark.parametrize("scheduler", ["onecycle", "cosine", "none"])
@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_sgd_momentum_reaches_the_optimizer_under_every_schedule(scheduler: str, momentum: float) -> None:
    """--momentum is SGD's momentum; under onecycle (which cycles it) the top of the cycle, where it starts."""
    config = TrainConfig(optimizer="sgd", momentum=momentum, scheduler=scheduler)
    optimizer = optimization.make_optimizer(config, torch.nn.Linear(2, 2))
    optimization.make_scheduler(config, optimizer, 40)
    assert optimizer.param_groups[0]["momentum"] == pytest.approx(momentum, abs=1e-12)


def test_different_momenta_train_differently() -> None:
    """Under the default onecycle schedule, momentum 0 and 0.9 give different weights (it once was ignored)."""
    results = []
    for momentum in (0.0, 0.9):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 2)
        config = TrainConfig(optimizer="sgd", momentum=momentum, scheduler="onecycle", lr=0.1)
        optimizer = optimization.make_optimizer(config, model)
        schedule = optimization.make_scheduler(config, optimizer, 10)
        for _ in range(5):
            optimizer.zero_grad()
            model(torch.ones(3, 4)).sum().backward()
            optimizer.step()
            schedule.step()
        results.append(model.weight.detach().clone())
    assert not torch.equal(*results)
