"""No output of a command replaces one of its inputs, whatever name reaches it; and the writer leaves no temp file."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from pathlib import Path

import pytest
from PIL import Image

from lenet_cli.cli.app import app
from lenet_cli.data.search import BUNDLED_DIR
from lenet_cli.errors import UsageError
from lenet_cli.cli import guard
from lenet_cli.files import atomic_write_bytes, forget_input, input_scope, note_input


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_writer_refuses_an_input_by_any_name(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("input")
    (tmp_path / "link.txt").symlink_to(source)
    os.link(source, tmp_path / "hard.txt")
    with input_scope():
        note_input(source)
        for name in ("in.txt", "link.txt", "hard.txt", "./sub/../in.txt"):
            (tmp_path / "sub").mkdir(exist_ok=True)
            with pytest.raises(UsageError, match="is an input of this command"):
                atomic_write_bytes(tmp_path / name, b"output")
        atomic_write_bytes(tmp_path / "other.txt", b"output")  # anything else is written
        forget_input(source)  # a resumed run replaces its own last.pt
        atomic_write_bytes(source, b"replaced")
    assert source.read_text() == "replaced" and not list(tmp_path.glob(".*.tmp"))


def test_outside_a_command_nothing_is_protected(tmp_path: Path) -> None:
    target = tmp_path / "x"
    target.write_text("a")
    note_input(target)
    atomic_write_bytes(target, b"b")
    assert target.read_bytes() == b"b"


def test_a_signal_while_the_temp_file_is_made_waits_until_it_can_be_cleaned_up(tmp_path: Path, monkeypatch) -> None:
    """The CLI's handler, a SIGTERM right after mkstemp: the temp file is still removed, then the interrupt comes."""
    import lenet_cli.files as files

    monkeypatch.setattr(guard, "_SIGNALS_RECEIVED", [])
    real = files.temp_file_beside
    seen = []

    def signalled_right_after_mkstemp(path: Path) -> tuple[int, str]:
        made = real(path)
        seen.append(made[1])
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs at once, inside the held section
        return made

    monkeypatch.setattr(files, "temp_file_beside", signalled_right_after_mkstemp)
    previous = signal.signal(signal.SIGTERM, guard._interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            atomic_write_bytes(tmp_path / "out.bin", b"payload")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen and not Path(seen[0]).exists() and not (tmp_path / "out.bin").exists()
    assert guard._SIGNALS_RECEIVED == [signal.SIGTERM]


def _picture(path: Path) -> Path:
    Image.new("L", (40, 40), 230).save(path)
    return path


def test_inspect_does_not_draw_over_its_image(runner, tmp_path: Path) -> None:
    image = _picture(tmp_path / "digit.png")
    before = _digest(image)
    result = runner.invoke(app, ["inspect", str(image), "-o", str(image)])
    assert result.exit_code == 2 and "is an input of this command" in result.stderr
    assert _digest(image) == before


def test_predict_refuses_to_save_pictures_among_its_inputs(runner, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    inputs = [_picture(folder / f"{k}.png") for k in range(3)]
    before = [_digest(p) for p in inputs]
    result = runner.invoke(app, ["predict", str(folder), "--save-preprocessed", str(folder)])
    assert result.exit_code == 2 and "holds the input" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["0.png", "1.png", "2.png"]
    assert [_digest(p) for p in inputs] == before
    elsewhere = runner.invoke(app, ["predict", str(folder), "--save-preprocessed", str(tmp_path / "seen")])
    assert elsewhere.exit_code == 0, elsewhere.stderr
    assert len(list((tmp_path / "seen").glob("*.png"))) >= 3


def test_export_does_not_replace_the_test_data_it_verifies_with(runner, tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "mnist"
    shutil.copytree(BUNDLED_DIR / "mnist", data)
    monkeypatch.setenv("LENET_DATA_DIR", str(tmp_path))
    target = data / "t10k-images-idx3-ubyte.gz"
    before = _digest(target)
    result = runner.invoke(app, ["export", "--format", "torchscript", "-o", str(target), "--verify-images", "8"])
    assert result.exit_code == 2 and "is an input of this command" in result.stderr, result.output
    assert _digest(target) == before and not list(data.glob(".*.tmp"))


def test_plot_reads_its_runs_as_inputs(tmp_path: Path) -> None:
    """Whatever name the chart is given, it cannot replace the metrics it is drawn from."""
    from lenet_cli.training.run_reader import read_metrics_csv

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("epoch,train_loss\n1,0.5\n")
    (tmp_path / "chart.png").symlink_to(run / "metrics.csv")
    with input_scope():
        read_metrics_csv(run)
        with pytest.raises(UsageError, match="is an input of this command"):
            atomic_write_bytes(tmp_path / "chart.png", b"png")
    assert (run / "metrics.csv").read_text().startswith("epoch")
