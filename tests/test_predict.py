"""lenet predict: real-world pictures, every input form, bad files, odd image modes, and safety."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, invoke_in_fresh_process
from lenet_cli.cli.app import app
from lenet_cli.data.search import BUNDLED_DIR
from lenet_cli.inference.loading import BUNDLED_ONNX, BUNDLED_WEIGHTS, load_predictor
from photo_digits import generate, load_mnist_test

MNIST_DIR = BUNDLED_DIR / "mnist"


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist_test(MNIST_DIR)


def _paper_digit(digit: np.ndarray, size: int = 120) -> np.ndarray:
    """Dark ink on white, enlarged: uint8 H x W."""
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.BICUBIC), np.float32)
    return (255 - big * 0.85).clip(0, 255).astype(np.uint8)


def _predict_json(runner, *args: str, input: str | None = None) -> tuple[int, list[dict], str]:
    result = runner.invoke(app, ["predict", *args, "--json"], input=input)
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, rows, result.stderr


def test_bundled_model_reads_photographed_and_scanned_digits(runner, tmp_path: Path) -> None:
    written = generate(tmp_path / "photos", MNIST_DIR, count=200, seed=1)
    code, rows, stderr = _predict_json(runner, str(tmp_path / "photos"))
    assert code == 0, stderr
    truth = {str(path): label for path, label in written}
    assert len(rows) == 200
    accuracy = sum(row["predicted"] == truth[row["path"]] for row in rows) / len(rows)
    assert accuracy >= 0.97, accuracy


def test_json_lines_fields(runner, tmp_path: Path, digits) -> None:
    images, labels = digits
    Image.fromarray(_paper_digit(images[0])).save(tmp_path / "seven.png")
    code, rows, _ = _predict_json(runner, str(tmp_path / "seven.png"), "--topk", "4")
    assert code == 0
    (row,) = rows
    assert set(row) == {"path", "predicted", "class_name", "probability", "topk", "label"}  # label: an alias
    assert row["predicted"] == int(labels[0]) == 7 and row["class_name"] == "7"
    assert len(row["topk"]) == 4 and row["topk"][0] == ["7", row["probability"]]
    assert row["probability"] >= row["topk"][1][1]


def test_csv_and_table_output(runner, tmp_path: Path, digits) -> None:
    images, _ = digits
    for i in range(3):
        Image.fromarray(_paper_digit(images[i])).save(tmp_path / f"{i}.png")
    result = runner.invoke(app, ["predict", str(tmp_path), "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [Path(r["path"]).name for r in rows] == ["0.png", "1.png", "2.png"]
    assert rows[0]["topk"].count(":") == 3
    table = runner.invoke(app, ["predict", str(tmp_path)])
    assert table.exit_code == 0 and "probability" in table.stdout
    assert runner.invoke(app, ["predict", str(tmp_path), "--csv", "--json"]).exit_code == 2


def test_directories_globs_recursion_and_stdin(runner, tmp_path: Path, digits) -> None:
    images, _ = digits
    (tmp_path / "sub").mkdir()
    Image.fromarray(_paper_digit(images[1])).save(tmp_path / "b.png")
    Image.fromarray(_paper_digit(images[2])).save(tmp_path / "a.jpg")
    Image.fromarray(_paper_digit(images[3])).save(tmp_path / "sub" / "c.bmp")
    (tmp_path / "notes.txt").write_text("not an image, skipped in directories")
    _, rows, _ = _predict_json(runner, str(tmp_path))
    assert [Path(r["path"]).name for r in rows] == ["a.jpg", "b.png"]
    _, rows, _ = _predict_json(runner, str(tmp_path), "--recursive")
    assert [Path(r["path"]).name for r in rows] == ["a.jpg", "b.png", "c.bmp"]
    _, rows, _ = _predict_json(runner, str(tmp_path / "*.png"))
    assert [Path(r["path"]).name for r in rows] == ["b.png"]
    _, rows, _ = _predict_json(runner, "-", input=f"{tmp_path / 'a.jpg'}\n\n{tmp_path / 'sub' / 'c.bmp'}\n")
    assert [Path(r["path"]).name for r in rows] == ["a.jpg", "c.bmp"]


def test_missing_input_is_66_and_the_rest_is_predicted(runner, tmp_path: Path, digits) -> None:
    Image.fromarray(_paper_digit(digits[0][0])).save(tmp_path / "ok.png")
    code, rows, stderr = _predict_json(runner, str(tmp_path / "ok.png"), str(tmp_path / "nope.png"))
    assert code == 66 and len(rows) == 1
    assert "nope.png" in stderr and "Traceback" not in stderr
    assert runner.invoke(app, ["predict"]).exit_code == 2


def test_bad_files_are_named_skipped_and_exit_65(runner, tmp_path: Path, digits, monkeypatch) -> None:
    Image.fromarray(_paper_digit(digits[0][0])).save(tmp_path / "good.png")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello, not a picture")
    buffer = io.BytesIO()
    Image.fromarray(_paper_digit(digits[0][1])).save(buffer, format="PNG")
    (tmp_path / "truncated.png").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    Image.new("L", (3000, 3000), 255).save(tmp_path / "bomb.png")
    monkeypatch.setattr("lenet_cli.data.images.MAX_PIXELS", 4_000_000)  # a 9 MP image now counts as a bomb
    code, rows, stderr = _predict_json(runner, str(tmp_path))
    assert code == 65, stderr
    assert [Path(r["path"]).name for r in rows] == ["good.png"]
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    for name in ("empty.png", "text.png", "truncated.png", "bomb.png"):
        assert sum(name in line for line in lines) == 1, (name, stderr)
    assert "Traceback" not in stderr


def _variants(digit: np.ndarray, directory: Path) -> list[Path]:
    """The same digit in many image modes and containers."""
    paper = _paper_digit(digit)
    ink = 255 - paper  # light on dark
    paths = []

    def save(img: Image.Image, name: str, **kwargs) -> None:
        img.save(directory / name, **kwargs)
        paths.append(directory / name)

    save(Image.fromarray(paper), "grey.png")
    save(Image.fromarray(ink), "light-on-dark.png")
    save(Image.fromarray((paper.astype(np.uint16) * 257)), "sixteen-bit.png")
    save(Image.fromarray(paper).convert("P"), "palette.gif")
    save(Image.fromarray(paper).convert("CMYK"), "cmyk.jpg")
    save(Image.fromarray(paper).convert("RGB"), "colour.webp")
    save(Image.fromarray(paper).convert("RGB"), "colour.tiff")
    save(Image.merge("LA", [Image.new("L", paper.shape[::-1], 0), Image.fromarray(ink)]), "transparent-la.png")
    rgba = np.zeros((*paper.shape, 4), np.uint8)
    rgba[..., 2] = 120
    rgba[..., 3] = ink
    save(Image.fromarray(rgba, "RGBA"), "transparent-rgba.png")
    rotated = Image.fromarray(paper).transpose(Image.Transpose.ROTATE_90)  # stored sideways (90 deg anticlockwise)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: a viewer rotates it 90 degrees clockwise to display it upright
    save(rotated, "exif-rotated.jpg", exif=exif)
    return paths


def test_image_modes_and_exif_rotation(runner, tmp_path: Path, digits) -> None:
    images, labels = digits
    for index in (0, 1, 2):  # a 7, a 2 and a 1
        directory = tmp_path / str(index)
        directory.mkdir()
        paths = _variants(images[index], directory)
        code, rows, stderr = _predict_json(runner, *map(str, paths))
        assert code == 0, stderr
        wrong = [Path(r["path"]).name for r in rows if r["predicted"] != labels[index]]
        assert len(rows) == len(paths) and not wrong, (int(labels[index]), wrong)


def test_a_large_jpeg_is_decoded_reduced_and_read_as_the_full_one(runner, tmp_path: Path, digits) -> None:
    from lenet_cli.data.images import open_image

    images, labels = digits
    photo = tmp_path / "phone.jpg"
    Image.fromarray(_paper_digit(images[0], size=1536)).convert("RGB").crop((-256, 0, 1792, 1536)).save(photo)
    assert open_image(photo).size == (2048, 1536)
    assert open_image(photo, reduce_to=256).size == (512, 384)  # 1/4: the largest scale that keeps 256 a side
    png = tmp_path / "phone.png"
    Image.open(photo).save(png)
    assert open_image(png, reduce_to=256).size == (2048, 1536)  # only JPEG decoders scale
    code, rows, stderr = _predict_json(runner, str(photo), str(png))
    assert code == 0, stderr
    assert [row["predicted"] for row in rows] == [labels[0]] * 2


@pytest.mark.parametrize("level", [0, 128, 255])
def test_blank_image_is_an_answer_not_a_crash(runner, tmp_path: Path, level: int) -> None:
    Image.fromarray(np.full((40, 30), level, np.uint8)).save(tmp_path / "blank.png")
    code, rows, stderr = _predict_json(runner, str(tmp_path / "blank.png"))
    assert code == 0, stderr
    assert len(rows) == 1 and rows[0]["predicted"] is None and rows[0]["reason"].startswith("no writing found")


def test_save_preprocessed_writes_what_the_model_saw(runner, tmp_path: Path, digits) -> None:
    Image.fromarray(_paper_digit(digits[0][0], size=300)).save(tmp_path / "in.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "in.png"), "--save-preprocessed", str(tmp_path / "seen")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "seen").iterdir()) == ["00000-in.png", "00000-in.steps.png"]
    seen = np.asarray(Image.open(tmp_path / "seen" / "00000-in.png"))
    assert seen.shape == (28, 28)
    assert seen[0].max() < 30 and seen.max() == 255  # light ink on black, full contrast
    ys, xs = np.nonzero(seen > 60)
    assert max(np.ptp(ys), np.ptp(xs)) <= 20  # fitted into the 20x20 box


def test_checkpoint_last_uses_the_newest_run(runner, tmp_path: Path, digits) -> None:
    Image.fromarray(_paper_digit(digits[0][0])).save(tmp_path / "x.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "x.png"), "--checkpoint", "last",
                                 "--project", str(tmp_path / "runs")])
    assert result.exit_code == 66 and "lenet train" in result.stderr

    (tmp_path / "runs" / "exp").mkdir(parents=True)
    (tmp_path / "runs" / "exp" / "best.pt").write_bytes(BUNDLED_WEIGHTS.read_bytes())
    result = runner.invoke(app, ["predict", str(tmp_path / "x.png"), "-c", "last", "--project",
                                 str(tmp_path / "runs"), "--json"])
    assert result.exit_code == 0, result.output


class _Payload:
    def __init__(self, sentinel: str) -> None:
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


def test_crafted_pickle_checkpoint_is_refused(runner, tmp_path: Path, digits) -> None:
    sentinel = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "lenet-checkpoint", "payload": _Payload(str(sentinel))}, evil)
    Image.fromarray(_paper_digit(digits[0][0])).save(tmp_path / "x.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "x.png"), "--checkpoint", str(evil)])
    assert result.exit_code == 65, result.output
    assert "weights_only" in result.stderr and "Traceback" not in result.output
    assert not sentinel.exists()
    assert runner.invoke(app, ["eval", "--checkpoint", str(evil)]).exit_code == 65
    assert not sentinel.exists()


def test_predict_with_the_bundled_weights_imports_neither_torch_nor_torchvision(tmp_path: Path, digits) -> None:
    Image.fromarray(_paper_digit(digits[0][0])).save(tmp_path / "x.png")
    stdout, imported = invoke_in_fresh_process(["predict", str(tmp_path / "x.png"), "--json"], ("torch", "torchvision"))
    assert imported == {"torch": False, "torchvision": False}
    assert json.loads(stdout)["class_name"] == "7"
    _, imported = invoke_in_fresh_process(["predict", str(tmp_path / "x.png"), "-c", str(BUNDLED_WEIGHTS)],
                                          ("torchvision",))
    assert imported == {"torchvision": False}  # the PyTorch checkpoint needs torch, never torchvision


def test_the_bundled_onnx_copy_is_the_bundled_checkpoint_and_predicts_like_it(tmp_path: Path) -> None:
    from lenet_cli.files import sha256_file
    from lenet_cli.export import get_format

    metadata = get_format("onnx").load(BUNDLED_ONNX).metadata
    assert metadata["source_sha256"] == sha256_file(BUNDLED_WEIGHTS)  # exported from these very weights
    written = generate(tmp_path / "photos", MNIST_DIR, count=60, seed=3)
    paths = [path for path, _ in written]
    onnx = list(load_predictor(BUNDLED_ONNX).predict_paths(paths))
    torch_rows = list(load_predictor(BUNDLED_WEIGHTS).predict_paths(paths))
    assert [p.label for p in onnx] == [p.label for p in torch_rows]
    assert max(abs(a.probability - b.probability) for a, b in zip(onnx, torch_rows)) < 1e-4


def test_pictures_prepared_in_several_processes_read_as_in_one(runner, tmp_path: Path) -> None:
    written = generate(tmp_path / "photos", MNIST_DIR, count=70, seed=3)
    (tmp_path / "photos" / "00035-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    outputs = {}
    for jobs in ("1", "2"):
        saved = tmp_path / f"seen-{jobs}"
        result = runner.invoke(app, ["predict", str(tmp_path / "photos"), "--json", "-j", jobs,
                                     "--save-preprocessed", str(saved)])
        assert result.exit_code == 65, result.output  # the broken file; the others are read
        assert "00035-broken.png" in result.stderr
        outputs[jobs] = (result.stdout, sorted((p.name, p.read_bytes()) for p in saved.iterdir()))
    assert len(outputs["1"][0].splitlines()) == len(written)
    assert outputs["1"] == outputs["2"]


# --- the quick path: `lenet predict` without Typer -------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["predict", "a.png"], {"inputs": ["a.png"]}),
    (["predict", "a.png", "-", "--json", "-r"], {"inputs": ["a.png", "-"], "as_json": True, "recursive": True}),
    (["predict", "--csv", "-c", "m.onnx", "d/"], {"inputs": ["d/"], "as_csv": True, "checkpoint": "m.onnx"}),
    (["predict", "--checkpoint=last", "a.png"], {"inputs": ["a.png"], "checkpoint": "last"}),
    (["predict"], None),  # no inputs: Typer's path says what to give
    (["predict", "a.png", "--help"], None),
    (["predict", "a.png", "--number"], None),  # every other option goes through Typer
    (["predict", "a.png", "-rj", "2"], None),  # short flags run together: Typer parses them
    (["predict", "a.png", "-c"], None),  # a missing value: Typer's one-line usage error
    (["predict", "a.png", "-c", "--json"], None),
    (["predict", "a.png", "--checkpoint="], None),
    (["predict", "a.png", "--json=yes"], None),
    (["predict", "a.png", "--", "-b.png"], None),
    (["eval", "a.png"], None),
    (["--version"], None),
    ([], None),
])
def test_the_quick_path_takes_only_the_options_it_knows(args: list[str], expected) -> None:
    from lenet_cli.cli.main import quick_predict_arguments

    assert quick_predict_arguments(args) == expected


QUICK_RUN = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(m for m in ("typer", "click", "rich", "pydantic", "torch")
                                                if m in sys.modules)), file=sys.stderr))
sys.argv = ["lenet", *sys.argv[1:]]
from lenet_cli.cli.main import main
main()
"""


def _quick(*args: str, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", QUICK_RUN, *args], text=True, cwd=REPO, **popen)


def test_a_plain_predict_loads_no_cli_framework_and_prints_what_the_app_prints(runner, tmp_path: Path, digits) -> None:
    for k in range(3):
        Image.fromarray(_paper_digit(digits[0][k])).save(tmp_path / f"{k}.png")
    done = _quick("predict", str(tmp_path), "--json", capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "[]"  # neither Typer, click, Rich, pydantic nor torch
    assert done.stdout == runner.invoke(app, ["predict", str(tmp_path), "--json"]).stdout
    table = _quick("predict", str(tmp_path / "0.png"), capture_output=True)
    assert table.returncode == 0 and "0.png" in table.stdout and json.loads(table.stderr.splitlines()[-1]) == ["rich"]


def test_the_quick_path_fails_with_the_app_s_lines_and_exit_codes(runner, tmp_path: Path, digits) -> None:
    Image.fromarray(_paper_digit(digits[0][0])).save(tmp_path / "ok.png")
    (tmp_path / "bad.png").write_bytes(b"not a picture")
    for args, code in ([str(tmp_path / "ok.png"), str(tmp_path / "nowhere.png")], 66), ([str(tmp_path)], 65):
        done = _quick("predict", *args, "--json", capture_output=True)
        typer_run = runner.invoke(app, ["predict", *args, "--json"])
        assert (done.returncode, typer_run.exit_code) == (code, code), done.stderr
        assert done.stdout == typer_run.stdout and "Traceback" not in done.stderr
        assert done.stderr.splitlines()[:-1] == typer_run.stderr.splitlines()  # the same error lines


def test_the_quick_path_leaves_quietly_when_the_reader_goes_away(tmp_path: Path, digits) -> None:
    for k in range(4):
        Image.fromarray(_paper_digit(digits[0][k])).save(tmp_path / f"{k}.png")
    read, write = os.pipe()
    os.close(read)  # like `| head -0`: the reader is gone before the first line
    done = _quick("predict", str(tmp_path), "--json", stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "error" not in done.stderr


# --- hostile inputs: odd names, odd folders, odd pictures, Ctrl-C ---------------------------------------

def test_paths_on_stdin_are_bytes_and_any_file_name_works(runner, tmp_path: Path, digits) -> None:
    latin1 = tmp_path / os.fsdecode(b"caf\xe9.png")  # a name that is not UTF-8, as old cameras write them
    Image.fromarray(_paper_digit(digits[0][0])).save(latin1)
    garbage = np.random.default_rng(5).bytes(300).replace(b"\n", b"") + b"\x00"  # undecodable, with NULs
    names = [os.fsencode(latin1), garbage, os.fsencode(tmp_path) + b"/a\x00b.png", b"\xff\xfe"]
    result = runner.invoke(app, ["predict", "-", "--json"], input=b"\n".join(names) + b"\n")
    assert result.exit_code == 66, result.output
    assert [json.loads(line)["path"] for line in result.stdout.splitlines()] == [str(latin1)]
    lines = result.stderr.splitlines()
    assert len(lines) == 4 and all(line.startswith("error: ") for line in lines), result.stderr
    assert sum("no such file" in line for line in lines) == 3 and "Traceback" not in result.stderr
    assert "\\x00b.png" in lines[1] and "\0" not in result.stderr  # shown escaped, never raw


def test_a_name_over_255_bytes_is_not_found(runner, tmp_path: Path, digits) -> None:
    Image.fromarray(_paper_digit(digits[0][0])).save(tmp_path / "ok.png")
    too_long = [str(tmp_path / ("x" * 300 + ".png")), str(tmp_path / ("d" * 300) / "a.png")]
    code, rows, stderr = _predict_json(runner, str(tmp_path / "ok.png"), *too_long)
    assert code == 66 and len(rows) == 1, stderr
    assert stderr.count("no such file") == 2 and "Traceback" not in stderr
    code, rows, stderr = _predict_json(runner, "-", input="\n".join(too_long) + "\n")
    assert code == 66 and stderr.count("no such file") == 2, stderr


def test_a_folder_without_pictures_is_not_found_and_says_what_was_looked_for(runner, tmp_path: Path, digits) -> None:
    empty = tmp_path / "photos"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a picture")
    code, rows, stderr = _predict_json(runner, str(empty))
    assert code == 66 and rows == [], stderr
    first = stderr.splitlines()[0]
    assert first.startswith(f"error: {empty}: no image files (") and ".png, .jpg" in first and ".webp" in first
    assert "add -r" not in first  # no subfolder: -r would not help
    (empty / "sub").mkdir()
    Image.fromarray(_paper_digit(digits[0][0])).save(empty / "sub" / "a.png")
    code, _, stderr = _predict_json(runner, str(empty))
    assert code == 66 and "add -r to look in subfolders" in stderr.splitlines()[0], stderr
    code, rows, stderr = _predict_json(runner, str(empty), "-r")
    assert code == 0 and [Path(r["path"]).name for r in rows] == ["a.png"], stderr
    (empty / "sub" / "a.png").unlink()
    code, _, stderr = _predict_json(runner, str(empty), "-r")
    assert code == 66 and "in this folder or its subfolders" in stderr and "add -r" not in stderr


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no directory can be made")
def test_save_preprocessed_where_no_folder_can_be_made_is_cannot_create_output(runner, tmp_path: Path, digits) -> None:
    Image.fromarray(_paper_digit(digits[0][0])).save(tmp_path / "in.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "in.png"), "--save-preprocessed", "/proc/lenet-seen"])
    assert result.exit_code == 73, result.output
    assert result.stderr.startswith("error: Cannot create /proc/lenet-seen") and result.stderr.count("\n") == 1


def test_control_characters_in_names_are_shown_escaped_never_obeyed(runner, tmp_path: Path, digits) -> None:
    forged, clear = "a\nerror: forged.png", "\x1b[2J\x1b[31mred.png"
    for name in (forged, clear):
        Image.fromarray(_paper_digit(digits[0][0])).save(tmp_path / name)
    (tmp_path / "b\nerror: forged too.png").write_bytes(b"not a picture")
    missing = str(tmp_path / "gone\x1b]0;title\x07.png")
    result = runner.invoke(app, ["predict", str(tmp_path), missing])
    assert result.exit_code == 66, result.output
    for stream in (result.stdout, result.stderr):
        assert "\x1b" not in stream and "\x07" not in stream
        assert not [line for line in stream.splitlines() if line.lstrip("│┃ ").startswith("error: forged")], stream
    assert "a\\nerror: forged.png" in result.stdout and "\\e[2J\\e[31mred.png" in result.stdout
    errors = result.stderr.splitlines()
    assert len(errors) == 3 and all(line.startswith("error: ") for line in errors), result.stderr
    assert "b\\nerror: forged too.png" in errors[0] and "gone\\e]0;title\\a.png" in errors[1]
    code, rows, _ = _predict_json(runner, str(tmp_path))  # JSON is data: the names exactly as they are
    assert code == 65 and sorted(Path(r["path"]).name for r in rows) == sorted([clear, forged])


def test_safe_text_escapes_every_control_character_and_keeps_the_rest() -> None:
    from lenet_cli.cli.console import safe_text

    assert safe_text("a\tb\r\n\x1b[0m\x00\x7f\x9b" + os.fsdecode(b"\xe9")) == "a\\tb\\r\\n\\e[0m\\x00\\x7f\\x9b\\xe9"
    assert safe_text("été/[bold]x[/] 数字 \\ ok.png") == "été/[bold]x[/] 数字 \\ ok.png"


def _lenet(*args: str) -> subprocess.CompletedProcess:
    """`lenet ARGS` in a fresh process: warnings reach its real stderr, as a user would see them."""
    return subprocess.run([sys.executable, "-m", "lenet_cli", *args], capture_output=True, text=True, cwd=REPO)


def test_odd_pictures_are_read_without_warnings(tmp_path: Path, digits) -> None:
    seven = Image.fromarray(_paper_digit(digits[0][0]))
    seven.save(tmp_path / "corrupt-exif.jpg", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff\x01\x02")
    unpackable = (b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x02"
                  b"\x01\x29\x00\x02\x00\x00\x00\x04cam\x00"  # PageNumber, a pair of numbers, written as text
                  b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")  # orientation 6
    seven.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "damaged-exif-sideways.jpg", exif=unpackable)
    ink = np.asarray(seven, np.float32) / 255
    ink[:4, :4], ink[-4:, -4:], ink[:4, -4:] = np.nan, np.inf, -np.inf  # a float TIFF with pixels no byte can hold
    Image.fromarray(ink, "F").save(tmp_path / "float-nan.tif")
    Image.fromarray(np.full((30, 30), np.nan, np.float32), "F").save(tmp_path / "all-nan.tif")
    done = _lenet("predict", str(tmp_path), "--json")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    rows = {Path(r["path"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    assert sorted(rows) == ["all-nan.tif", "corrupt-exif.jpg", "damaged-exif-sideways.jpg", "float-nan.tif"]
    assert [rows[name]["class_name"] for name in ("corrupt-exif.jpg", "damaged-exif-sideways.jpg", "float-nan.tif")] \
        == ["7"] * 3  # read, and the sideways one still turned upright


def test_ctrl_c_while_workers_prepare_pictures_is_130_and_one_line_every_time(tmp_path: Path) -> None:
    import signal
    import time

    rng = np.random.default_rng(0)
    for k in range(600):
        picture = np.full((64, 64), 255, np.uint8)
        picture[10:54, 28:36] = rng.integers(0, 60, (44, 8))
        Image.fromarray(picture).save(tmp_path / f"{k:04d}.png")
    for attempt in range(5):
        proc = subprocess.Popen([sys.executable, "-m", "lenet_cli", "predict", str(tmp_path), "--json", "-j", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                                start_new_session=True)  # its own process group, as a terminal's foreground job
        try:
            first = proc.stdout.readline()  # the workers have prepared a batch and keep preparing
            time.sleep(0.05 * attempt)  # each attempt catches the workers at another point
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: every process of the group gets it
            _, stderr = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
        assert first.startswith("{"), stderr
        assert proc.returncode == 130, (attempt, proc.returncode, stderr)
        assert stderr == "error: Interrupted; nothing was left half-written\n", (attempt, stderr)


def _blank_and_digit(directory: Path, digit: np.ndarray) -> tuple[Path, Path]:
    """A sheet of squared paper with nothing on it (renderer A), and a digit on white paper."""
    from paper_digits import render

    blank, written = directory / "blank.jpg", directory / "digit.png"
    render([np.zeros((28, 28), np.uint8)], "squared", np.random.default_rng(5)).save(blank)
    Image.fromarray(_paper_digit(digit)).save(written)
    return blank, written


def test_no_digit_is_an_answer_in_json_csv_and_the_table(runner, tmp_path: Path, digits) -> None:
    """A picture without writing gets one line like any other: no class, no probability, and why."""
    blank, written = _blank_and_digit(tmp_path, digits[0][0])
    code, rows, stderr = _predict_json(runner, str(blank), str(written))
    assert code == 0, stderr
    assert rows[0] == {"path": str(blank), "predicted": None, "class_name": None, "probability": None, "topk": [],
                       "label": None, "reason": rows[0]["reason"]}
    assert rows[0]["reason"].startswith("no writing found (") and rows[0]["reason"].endswith(")")
    assert rows[1]["predicted"] == 7 and "reason" not in rows[1]  # a digit's line is as it always was
    result = runner.invoke(app, ["predict", str(blank), str(written), "--csv"])
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and lines[1] == f"{blank},,,," and lines[2].startswith(f"{written},7,7,")
    table = runner.invoke(app, ["predict", str(blank), str(written)])
    assert table.exit_code == 0 and "no digit" in table.stdout and "no writing found" in table.stdout


def test_fail_on_no_digit_exits_65_after_every_line(runner, tmp_path: Path, digits) -> None:
    """--fail-on-no-digit: the others are still predicted, then one error line and exit 65; a missing input
    still decides the exit code (66), and without the option a blank page is no error."""
    blank, written = _blank_and_digit(tmp_path, digits[0][0])
    code, rows, stderr = _predict_json(runner, str(blank), str(written), "--fail-on-no-digit")
    assert code == 65 and len(rows) == 2 and rows[1]["predicted"] == 7
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "1 picture(s) held no digit" in errors[0]
    code, rows, _ = _predict_json(runner, str(written), "--fail-on-no-digit")
    assert code == 0 and rows[0]["predicted"] == 7
    code, rows, stderr = _predict_json(runner, str(blank), str(tmp_path / "nope.png"), "--fail-on-no-digit")
    assert code == 66 and len(rows) == 1 and "nope.png" in stderr
    result = runner.invoke(app, ["predict", "-n", str(blank), "--json", "--fail-on-no-digit"])
    assert result.exit_code == 65 and json.loads(result.stdout)["number"] == ""
    assert runner.invoke(app, ["predict", str(blank)]).exit_code == 0


def test_no_digit_is_the_same_in_worker_processes(runner, tmp_path: Path, digits) -> None:
    """Pictures prepared by worker processes give the same "no digit" answers, in order."""
    blank, written = _blank_and_digit(tmp_path, digits[0][0])
    files = [str(blank), str(written)] * 3
    _, alone, _ = _predict_json(runner, *files, "--jobs", "1")
    _, workers, _ = _predict_json(runner, *files, "--jobs", "2")
    assert workers == alone and [row["predicted"] for row in alone] == [None, 7] * 3
