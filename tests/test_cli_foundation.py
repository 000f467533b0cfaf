from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_mnist_files
from lenet_cli import __version__
from lenet_cli.cli.app import app
from lenet_cli.data import list_datasets
from lenet_cli.errors import EXIT_CODES
from lenet_cli.models import get_model_spec, list_models


def test_help_and_short_help(runner) -> None:
    for flag in ("--help", "-h"):
        result = runner.invoke(app, [flag])
        assert result.exit_code == 0, result.output
        for command in ("summary", "models", "datasets"):
            assert command in result.output


def test_version(runner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"lenet {__version__}"


def test_models_json_comes_from_the_registry(runner) -> None:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == list_models()
    assert rows[0]["num_params"] == get_model_spec(rows[0]["name"]).num_params


def test_models_table(runner) -> None:
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert "61,706" in result.output and "lenet5-d2l" in result.output


def test_datasets_json_says_where_each_comes_from(runner, tmp_path: Path) -> None:
    write_mnist_files(tmp_path)
    result = runner.invoke(app, ["datasets", "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert list(rows) == list_datasets()
    assert rows["mnist"]["source"] == "local"  # --data-dir beats the bundled copy
    assert rows["kmnist"]["path"] == str(tmp_path)
    assert rows["cifar10"]["source"] == "download" and rows["cifar10"]["shape"] == [3, 32, 32]


def test_datasets_table_shows_bundled_mnist(runner) -> None:
    result = runner.invoke(app, ["datasets"])
    assert result.exit_code == 0, result.output
    assert "bundled" in result.output and "needs download" in result.output


@pytest.mark.parametrize("model", list_models())
def test_summary_json_totals_add_up(runner, model: str) -> None:
    result = runner.invoke(app, ["summary", "--model", model, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["total_params"] == get_model_spec(model).num_params
    assert sum(r["params"] for r in report["rows"]) == report["total_params"]
    assert report["counts_agree"] is True
    assert report["torchsummary_params"] == report["total_params"]
    assert report["rows"][-1]["output_shape"] == [10]


def test_summary_table_for_colour_input_and_more_classes(runner) -> None:
    result = runner.invoke(app, ["summary", "--input-size", "3", "32", "32", "--num-classes", "47"])
    assert result.exit_code == 0, result.output
    assert "[47]" in result.output
    assert "Total params: 65,151" in result.output  # 456 + 2,416 + 48,120 + 10,164 + 3,995


@pytest.mark.parametrize(
    "args, needle",
    [
        (["summary", "--model", "lenet9"], "Unknown model 'lenet9'"),
        (["summary", "--input-size", "1", "8", "8"], "too small"),
        (["summary", "--input-size", "1", "32", "28"], "square"),
        (["summary", "--num-classes", "0"], ""),
    ],
)
def test_bad_options_are_usage_errors_without_traceback(runner, args: list[str], needle: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_exit_code_table_is_the_documented_contract() -> None:
    assert {0, 1, 2, 3, 4, 65, 66, 69, 70, 73, 74, 77, 130, 143} == set(EXIT_CODES)


def _modules_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_help_and_listing_do_not_import_torch() -> None:
    for argv in (["--help"], ["models"], ["datasets"]):
        code = (
            "from typer.testing import CliRunner\nfrom lenet_cli.cli.app import app\n"
            f"r = CliRunner().invoke(app, {argv!r})\nassert r.exit_code == 0, r.output"
        )
        loaded = _modules_after(code)
        assert "torch" not in loaded and "torchvision" not in loaded, argv


def test_console_script_and_module_entry_points() -> None:
    done = subprocess.run([sys.executable, "-m", "lenet_cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"lenet {__version__}"
    script = Path(sys.executable).with_name("lenet")
    if script.exists():  # installed with pip install -e .
        done = subprocess.run([str(script), "summary", "--model", "nope"], capture_output=True, text=True)
        assert done.returncode == 2
        assert done.stderr.strip().startswith("error: Unknown model 'nope'")
        assert done.stdout == ""


def test_predict_declares_its_options_once() -> None:
    """The command's options are PredictOptions' fields with the same defaults; the quick path fills the same."""
    import dataclasses
    import inspect

    from lenet_cli.cli.main import quick_predict_arguments
    from lenet_cli.cli.predict import predict_command
    from lenet_cli.cli.predict_run import PredictOptions

    parameters = dict(inspect.signature(predict_command).parameters)
    parameters.pop("inputs")
    fields = {field.name: field.default for field in dataclasses.fields(PredictOptions)}
    assert {name: p.default for name, p in parameters.items()} == fields
    quick = quick_predict_arguments(["predict", "a.png", "--json", "-r", "-c", "m.onnx", "--csv"])
    assert quick.pop("inputs") == ["a.png"]
    assert PredictOptions(**quick) == PredictOptions(as_json=True, recursive=True, checkpoint="m.onnx", as_csv=True)
