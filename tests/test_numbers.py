"""Numbers a user can type: every one outside what the command can use is exit 2 naming the option, never a
traceback; the same checks hold for config files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lenet_cli.cli.app import app
from lenet_cli.errors import UsageError
from lenet_cli.training.config import TrainConfig


@pytest.mark.parametrize("args, named", [
    (["train", "--seed", "18446744073709551615"], "--seed must be in [0, 4,294,967,295]"),
    (["train", "--seed", "-1"], "--seed must be in [0, 4,294,967,295]"),
    (["train", "--seed", "2**70"], "--seed"),
    (["train", "--optimizer", "sgd", "--momentum", "-1"], "--momentum must be in [0.0, 1.0)"),
    (["train", "--momentum", "1"], "--momentum must be in [0.0, 1.0)"),
    (["train", "--momentum", "nan"], "--momentum must be a finite number, not nan"),
    (["train", "--momentum", "inf"], "--momentum must be a finite number, not inf"),
    (["train", "--lr", "-inf"], "--lr must be a finite number"),
    (["train", "--weight-decay", "nan"], "--weight-decay must be a finite number"),
    (["train", "--label-smoothing", "nan"], "--label-smoothing must be a finite number"),
    (["train", "--val-split", "nan"], "--val-split must be a finite number"),
    (["eval", "--fail-under", "nan"], "--fail-under"),
    (["summary", "--input-size", "1", "100000", "100000"], "--input-size side must be in [1, 1,024]"),
    (["summary", "--input-size", "100000", "32", "32"], "--input-size channels must be in [1, 64]"),
    (["summary", "--num-classes", "1000000000"], "--num-classes must be in [1, 100,000]"),
    (["serve", "--max-upload-mb", "inf"], "--max-upload-mb"),
    (["serve", "--max-upload-mb", "nan"], "--max-upload-mb"),
    (["benchmark", "-b", "1000000000"], "--batch"),
])
def test_a_number_no_command_can_use_is_exit_2(runner, args: list[str], named: str) -> None:
    result = runner.invoke(app, [*args, *(["--print-config"] if args[0] == "train" else [])])
    assert result.exit_code == 2, result.output
    assert named in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("text, named", [
    ("momentum = nan\n", "--momentum must be a finite number"),
    ("lr = inf\n", "--lr must be a finite number"),
    ("seed = 4294967296\n", "--seed must be in"),
])
def test_a_config_file_gets_the_same_checks(runner, tmp_path: Path, text: str, named: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    result = runner.invoke(app, ["train", "--config", str(config), "--print-config"])
    assert result.exit_code == 2 and named in result.stderr, result.output


def test_the_library_gets_the_same_checks() -> None:
    """What a script builds is checked as the command line is: the right type, finite, in range."""
    for bad in ({"epochs": 2.5}, {"batch_size": "64"}, {"lr": float("nan")}, {"seed": 2**40}, {"deterministic": 1.0}):
        with pytest.raises(UsageError):
            TrainConfig(**bad).validate()
    TrainConfig(seed=2**32 - 1, momentum=0.0).validate()  # the edges are fine
