"""One grammar across commands: closed choices checked and completed, did-you-mean, one --checkpoint, one --topk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lenet_cli.cli.app import COMMANDS, app
from lenet_cli.cli.options import TOPK
from lenet_cli.inference.loading import BUNDLED_WEIGHTS

LENET = Path(sys.executable).with_name("lenet")  # the console script this environment installed


def _complete(shell: str, words: str) -> list[str]:
    """What the shell would offer for the last word of ``words``, through Typer's completion variables."""
    env = {**os.environ, "_LENET_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        env.update(COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - 1))
    else:
        env.update(_TYPER_COMPLETE_ARGS=words, _TYPER_COMPLETE_FISH_ACTION="get-args")
    result = subprocess.run([str(LENET)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    if shell == "zsh":  # _arguments '*: :(("adam" "adamw"))'
        return [part.split('"')[1] for part in result.stdout.split("\n") if '"' in part]
    return result.stdout.split()


@pytest.mark.skipif(not LENET.exists(), reason="the lenet console script is not installed in this environment")
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize("words, expected", [
    ("lenet train --optimizer ad", ["adam", "adamw"]),
    ("lenet train --augment w", ["writing"]),
    ("lenet train --model lenet5-", ["lenet5-d2l", "lenet5-avgpool", "lenet5-classic"]),  # declaration order
    ("lenet train --dataset fa", ["fashion-mnist"]),
    ("lenet export --format o", ["onnx"]),
    ("lenet predict x.png --device c", ["cpu", "cuda"]),
    ("lenet eval --split t", ["train", "test"]),
    ("lenet benchmark --format py", ["pytorch"]),
])
def test_choices_complete_on_tab(shell: str, words: str, expected: list[str]) -> None:
    assert _complete(shell, words) == expected


@pytest.mark.parametrize("args, suggestion", [
    (["train", "--optimizer", "adamx"], "did you mean 'adam'?"),
    (["train", "--augment", "wrting"], "did you mean 'writing'?"),
    (["train", "--model", "lenet-5"], "did you mean 'lenet5'?"),
    (["train", "--dataset", "fashion"], "did you mean 'fashion-mnist'?"),
    (["summary", "--model", "lenet6"], "did you mean 'lenet5'?"),
    (["export", "--format", "onx"], "did you mean 'onnx'?"),
    (["models", "lenet-5"], "did you mean 'lenet5'?"),
])
def test_unknown_names_get_a_suggestion(runner, args: list[str], suggestion: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code in (2, 66), result.output
    assert suggestion in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_a_config_file_gets_suggestions_too(runner, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('optimiser = "adamw"\n')
    result = runner.invoke(app, ["train", "--config", str(config)])
    assert result.exit_code == 2 and "did you mean 'optimizer'?" in result.stderr
    config.write_text('scheduler = "cosin"\n')
    result = runner.invoke(app, ["train", "--config", str(config)])
    assert result.exit_code == 2 and "did you mean 'cosine'?" in result.stderr


def test_a_pattern_that_matches_no_model_is_exit_66(runner) -> None:
    result = runner.invoke(app, ["models", "zzz*"])
    assert result.exit_code == 66 and "No model matches 'zzz*'" in result.stderr


def test_print_config_shows_defaults_then_file_then_command_line(runner, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("epochs = 7\nlr = 0.02\n")
    project = tmp_path / "runs"
    result = runner.invoke(app, ["train", "--config", str(config), "--lr", "0.05", "--project", str(project),
                                 "--print-config"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "epochs = 7" in lines and "lr = 0.05" in lines and 'optimizer = "adamw"' in lines
    assert f'project = "{project}"' in lines
    assert not project.exists() and result.stderr == ""  # printed, nothing trained


def test_help_shows_no_placeholder_after_flags(runner) -> None:
    for name in ["", *COMMANDS]:
        result = runner.invoke(app, [name, "--help"] if name else ["--help"], env={"COLUMNS": "160"})
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.stdout, name


def test_every_command_that_lists_classes_has_the_same_topk_default(runner) -> None:
    for name in ("predict", "eval"):
        option = next(p for p in _params(name) if p.name == "topk")
        assert option.default == TOPK, name


def test_every_command_that_runs_a_model_takes_the_same_checkpoint_and_device_options() -> None:
    for name in ("eval", "predict", "inspect", "export", "benchmark", "serve"):
        names = {p.name: p for p in _params(name)}
        assert names["checkpoint"].opts == ["--checkpoint", "-c"], name
        assert "project" in names, name
        if name not in ("export", "benchmark"):  # these two run the model on the CPU, as its exports are checked
            assert "device" in names, name


def _params(name: str):
    import typer

    group = typer.main.get_command(app)
    return group.commands[name].params


def test_checkpoint_last_falls_back_to_last_pt(runner, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "runs" / "exp"
    run.mkdir(parents=True)
    shutil.copy(BUNDLED_WEIGHTS, run / "last.pt")  # a run without a validation split has no best.pt
    from lenet_cli.inference.loading import resolve_checkpoint

    assert resolve_checkpoint("last", tmp_path / "runs") == run / "last.pt"
    shutil.copy(BUNDLED_WEIGHTS, run / "best.pt")
    assert resolve_checkpoint("last", tmp_path / "runs") == run / "best.pt"
    result = runner.invoke(app, ["eval", "-c", "last", "--project", str(tmp_path / "nothing")])
    assert result.exit_code == 66 and "No run with a checkpoint" in result.stderr


def test_exports_are_refused_clearly_where_a_pt_is_needed(runner, tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not read")
    for args in (["export", "-f", "onnx", "-c", str(fake)], ["train", "--resume", str(fake)],
                 ["inspect", str(BUNDLED_WEIGHTS), "-c", str(fake)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "is an export (onnx)" in result.stderr and "needs the lenet checkpoint (.pt)" in result.stderr


def test_predict_json_names_the_predicted_class_and_keeps_label_as_an_alias(runner, tmp_path: Path) -> None:
    from PIL import Image

    picture = tmp_path / "digit.png"
    canvas = Image.new("L", (28, 28), 0)
    canvas.paste(255, (12, 4, 16, 24))  # a one
    canvas.save(picture)
    result = runner.invoke(app, ["predict", str(picture), "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["predicted"] == row["label"] == int(row["class_name"])
