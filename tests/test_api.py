"""The Python API for a trained model: load, predict (every kind of input), evaluate, export, inspect, summary,
runs; each answer is the one the command prints, and bad input is a LenetError carrying its exit code."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lenet_cli as lenet
from conftest import REPO, write_mnist_files
from lenet_cli.cli.app import app
from lenet_cli.errors import DataFormatError, InputNotFound, LenetError, UsageError

DOCS_IMG = REPO / "docs" / "img"
PHOTO = DOCS_IMG / "reading" / "photos" / "a-card.jpg"  # a blue 0 on a green card
NUMBER = DOCS_IMG / "paper" / "number.jpg"  # 0 2 4 written in a row


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A checkpoint trained through the API on a tiny IDX dataset, and that dataset's spec."""
    root = tmp_path_factory.mktemp("api")
    data = f"idx:{write_mnist_files(root / 'data', n_train=96, n_test=40)}"
    run = lenet.train(dataset=data, project=root / "runs", name="run", epochs=2, seed=0, threads=1, batch_size=16,
                      progress=False)
    return run.best_checkpoint, data


@pytest.fixture(scope="module")
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    data = lenet.get_dataset("mnist", "test")
    return data.images[:8].numpy(), data.labels[:8].numpy()


def _cli_json(runner, *args: str) -> list[dict]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_importing_the_package_and_predicting_with_the_bundled_weights_load_no_torch() -> None:
    code = ("import sys, lenet_cli as lenet\nassert 'torch' not in sys.modules\n"
            f"p = lenet.load().predict({str(PHOTO)!r})\nprint(p.class_name, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False"]


def test_a_prediction_is_the_one_lenet_predict_prints(runner) -> None:
    model = lenet.load()
    prediction = model.predict(PHOTO)
    assert prediction.to_dict() == _cli_json(runner, "predict", str(PHOTO))[0]
    assert prediction.class_name == "0" and prediction.input.shape == (1, 28, 28) and prediction.input.dtype == np.uint8
    assert (prediction.label, prediction.probability) == (0, prediction.topk[0][1])


def test_a_picture_in_memory_is_answered_as_its_file_is() -> None:
    model = lenet.load()
    from_file = model.predict(PHOTO)
    picture = Image.open(PHOTO)
    for source in (picture, np.asarray(picture), torch.from_numpy(np.array(picture)).permute(2, 0, 1).float() / 255,
                   PHOTO.read_bytes()):
        answer = model.predict(source)
        assert answer.class_name == from_file.class_name, type(source)
        assert answer.probability == pytest.approx(from_file.probability, abs=0.02), type(source)
    assert np.array_equal(model.predict(picture).input, from_file.input)


def test_mnist_images_as_arrays_tensors_and_batches(mnist_test) -> None:
    images, labels = mnist_test
    model = lenet.load()
    batch = model.predict(torch.from_numpy(images))  # N x 1 x 28 x 28 uint8: a batch, one answer each
    assert isinstance(batch, lenet.PredictionList) and [p.label for p in batch] == labels.tolist()
    assert batch[3].path == "<tensor>[3]"
    floats = model.predict(images[0, 0].astype(np.float32) / 255)  # ToTensor's scale, H x W
    assert floats.label == labels[0]
    mixed = model.predict([images[1, 0], str(PHOTO), Image.fromarray(images[2, 0])])
    assert [p.path for p in mixed] == ["<array 0>", str(PHOTO), "<image 2>"]
    assert [p.label for p in mixed] == [labels[1], 0, labels[2]]


def test_a_folder_gives_a_list_in_file_order(tmp_path: Path, mnist_test) -> None:
    images, labels = mnist_test
    for k in range(3):
        Image.fromarray(images[k, 0]).save(tmp_path / f"{k}.png")
    found = lenet.load().predict(tmp_path)
    assert [Path(p.path).name for p in found] == ["0.png", "1.png", "2.png"]
    assert [p.label for p in found] == labels[:3].tolist()
    assert all(p.input.shape == (1, 28, 28) for p in found)


@pytest.mark.parametrize("source, message", [
    (np.zeros((28, 28), np.float32) - 0.42, "pixels must be in 0..1"),  # normalised: not a picture's pixels
    (np.zeros((64, 28, 28), np.uint8), "not a picture"),
    (np.zeros((28, 28), np.int64) + 300, "0..255"),
    (np.zeros((0, 0), np.uint8), "not a picture"),
    (3.5, "Cannot predict a float"),
])
def test_what_is_not_a_picture_is_a_usage_error(source, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        lenet.load().predict(source)
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


def test_missing_and_unreadable_pictures_carry_their_exit_codes(tmp_path: Path) -> None:
    model = lenet.load()
    with pytest.raises(InputNotFound) as missing:
        model.predict(tmp_path / "nowhere.png")
    (tmp_path / "bad.png").write_bytes(b"not a picture")
    with pytest.raises(DataFormatError) as bad:
        model.predict(tmp_path / "bad.png")
    with pytest.raises(DataFormatError):
        model.predict([str(tmp_path / "bad.png"), str(PHOTO)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputNotFound, match="no image files"):
        model.predict(tmp_path / "empty")
    assert (missing.value.exit_code, bad.value.exit_code) == (66, 65)


def test_a_blank_page_is_no_digit_with_a_reason() -> None:
    prediction = lenet.load().predict(Image.new("L", (200, 200), 235))
    assert prediction.label is None and prediction.class_name is None and prediction.reason
    assert prediction.input is not None and "no digit" in prediction._repr_html_()


def test_a_number_is_read_as_lenet_predict_number_reads_it(runner) -> None:
    reading = lenet.load().predict(NUMBER, number=True)
    assert isinstance(reading, lenet.NumberReading) and reading.number == "024"
    assert reading.to_dict() == _cli_json(runner, "predict", "--number", str(NUMBER))[0]
    assert [d["class_name"] for d in reading.digits] == ["0", "2", "4"]
    both = lenet.load().predict([NUMBER, Image.open(NUMBER)], number=True)
    assert [r.number for r in both] == ["024", "024"]


def test_load_resolves_checkpoints_as_the_checkpoint_option_does(tmp_path: Path, trained) -> None:
    checkpoint, _ = trained
    assert lenet.load(checkpoint).path == checkpoint
    assert lenet.load("last", project=checkpoint.parent.parent).path == checkpoint  # best.pt of the newest run
    with pytest.raises(InputNotFound) as missing:
        lenet.load(tmp_path / "nowhere.pt")
    with pytest.raises(UsageError, match="did you mean 'cuda'"):
        lenet.load(device="cude")
    foreign = tmp_path / "foreign.pt"
    torch.save({"just": torch.zeros(2)}, foreign)
    model = lenet.load(foreign)  # the file is read when first used
    with pytest.raises(DataFormatError, match="not a lenet checkpoint") as refused:
        model.predict(PHOTO)
    assert (missing.value.exit_code, refused.value.exit_code) == (66, 65)


def test_evaluate_gives_the_numbers_of_lenet_eval_and_the_pictures(runner, trained) -> None:
    checkpoint, data = trained
    evaluation = lenet.load(checkpoint).evaluate(data, topk=3)
    expected = _cli_json(runner, "eval", "-c", str(checkpoint), "--dataset", data, "--topk", "3")[0]
    assert {**evaluation.to_dict(), "plots": []} == expected
    assert evaluation.accuracy == expected["accuracy"] and evaluation.loss == expected["loss"]
    assert evaluation.topk_accuracy == expected["topk_accuracy"] and len(evaluation.per_class) == 10
    confusion = np.array(evaluation.confusion)
    assert confusion.shape == (10, 10) and confusion.dtype.kind == "i" and confusion.sum() == 40
    mistakes = evaluation.mistakes
    assert len(mistakes) == 40 - np.trace(confusion) and mistakes.confidence == sorted(mistakes.confidence, reverse=True)
    assert all(evaluation.labels[i] != evaluation.probabilities[i].argmax() for i in mistakes.indices)
    figure = evaluation.plot_confusion()
    assert figure.axes[0].get_xlabel() == "predicted class" and figure._repr_png_()[:4] == b"\x89PNG"
    assert evaluation.plot_mistakes().get_size_inches()[0] > 0
    with pytest.raises(UsageError, match="--split"):
        lenet.load(checkpoint).evaluate(data, split="validation")


def test_export_is_verified_returns_its_path_and_loads_back(tmp_path: Path, trained) -> None:
    checkpoint, data = trained
    model = lenet.load(checkpoint)
    out = model.export("torchscript", tmp_path / "m.torchscript.pt")
    assert out == tmp_path / "m.torchscript.pt" and out.is_file()
    again = lenet.load(out)
    x = np.zeros((40, 40), np.uint8)
    x[8:32, 18:22] = 255  # a 1
    exported, original = again.predict(x), model.predict(x)
    assert [name for name, _ in exported.topk] == [name for name, _ in original.topk]
    assert [p for _, p in exported.topk] == pytest.approx([p for _, p in original.topk], abs=1e-5)
    with pytest.raises(UsageError, match="is an export"):
        again.export("onnx", tmp_path / "m.onnx")
    with pytest.raises(UsageError, match="do not apply"):
        model.export("torchscript", tmp_path / "n.torchscript.pt", opset=18)
    with pytest.raises(UsageError, match="--verify-images"):
        model.export("torchscript", tmp_path / "n.torchscript.pt", verify_images=1)


def test_inspect_draws_a_figure_of_every_layer(trained) -> None:
    model = lenet.load()
    inspection = model.inspection(PHOTO)
    assert [layer.label for layer in inspection.layers][:2] == ["C1", "S2"] and inspection.prediction.label == 0
    figure = model.inspect(PHOTO)
    with Image.open(io.BytesIO(figure._repr_png_())) as png:
        assert png.width >= 720
    with pytest.raises(UsageError, match="one picture"):
        model.inspect([PHOTO, PHOTO])


def test_summaries_of_a_loaded_model_and_of_a_registered_one() -> None:
    summary = lenet.load().summary()
    assert summary.total_params == 61_706 == lenet.summary("lenet5").total_params
    assert summary.rows[0].output_shape == [6, 28, 28] and summary.counts_agree
    paper = lenet.summary("lenet5-classic", paper=True).paper
    assert paper is not None and paper["params"] == paper["paper_params"]
    with pytest.raises(UsageError, match="square"):
        lenet.summary(input_size=(1, 32, 28))


def test_runs_are_listed_as_lenet_runs_lists_them(runner, trained) -> None:
    project = trained[0].parent.parent
    found = lenet.runs(project)
    assert [r.name for r in found] == ["run"] and found[0].status == "completed"
    assert [r.to_dict() for r in found] == _cli_json(runner, "runs", "--project", str(project))[0]
    assert lenet.runs(project, status="diverged") == []
    with pytest.raises(UsageError, match="did you mean 'name'"):
        lenet.runs(project, sort="nme")


def _is_main_block(node: ast.AST) -> bool:
    """``if __name__ == "__main__":``, a module's own entry point (python -m lenet_cli.docgen)."""
    return isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and \
        getattr(node.test.left, "id", None) == "__name__"


def _exits_in(source: str) -> list[int]:
    """Lines that end the process or raise SystemExit: sys.exit(), os._exit(), exit(), SystemExit; an entry
    point's ``if __name__ == "__main__":`` block is the command line's, not the library's."""
    lines = []
    library = [node for node in ast.parse(source).body if not _is_main_block(node)]
    for node in (inner for top in library for inner in ast.walk(top)):
        called = node.func if isinstance(node, ast.Call) else None
        if getattr(called, "attr", getattr(called, "id", None)) in ("exit", "_exit") or \
                (isinstance(node, ast.Name) and node.id == "SystemExit"):
            lines.append(node.lineno)
    return lines


def test_no_library_code_exits_only_the_command_line_does() -> None:
    """Library code raises LenetError; only cli/ (and the entry point) ends the process or raises SystemExit."""
    found = [f"{path.relative_to(REPO)}:{line}" for path in (REPO / "lenet_cli").rglob("*.py")
             if path.relative_to(REPO / "lenet_cli").parts[0] != "cli" and path.name != "__main__.py"
             for line in _exits_in(path.read_text(encoding="utf-8"))]
    assert not found, found
    assert _exits_in((REPO / "lenet_cli" / "cli" / "main.py").read_text()), "the finder finds the CLI's own exits"
    assert _exits_in("import sys\ndef f():\n    sys.exit(3)\n    raise SystemExit(2)\n") == [3, 4]
    assert _exits_in("import sys\nif __name__ == '__main__':\n    sys.exit(0)\n") == []


def test_every_public_name_resolves_and_errors_carry_exit_codes() -> None:
    for name in lenet.__all__:
        assert getattr(lenet, name) is not None, name
    assert issubclass(lenet.TrainingStopped, KeyboardInterrupt) and lenet.LenetError is LenetError
    assert (REPO / "lenet_cli" / "py.typed").is_file()
