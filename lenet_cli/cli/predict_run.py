"""What ``lenet predict`` does, without Typer or Rich at start-up.

``predict.predict_command`` declares the options; ``main`` calls ``predict`` here directly
for a plain `lenet predict photo.jpg [--json]`, so a shell script predicting file by file
does not pay for the CLI framework on every call.
"""

from __future__ import annotations

import csv
import errno
import glob
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from ..errors import CannotCreateOutput, DataFormatError, InputNotFound, LenetError, UsageError, from_os_error
from ..files import note_input
from ..inference import TOPK
from .console import new_table, out, print_error, print_json, print_note, safe_text

__all__ = ["PredictOptions", "predict", "expand_inputs"]

_GLOB_CHARS = set("*?[")


def expand_inputs(inputs: list[str], recursive: bool, missing: list[str]) -> Iterator[Path]:
    """Image paths in the order given; directories sorted; for each input that names no image, the
    error line saying why goes to ``missing`` (nothing there, or a folder without pictures)."""
    for item in inputs:
        if item == "-":
            yield from expand_inputs(_names_from_stdin(), recursive, missing)
            continue
        path = Path(item)
        kind = _kind_of(path)
        if kind == "directory":
            from ..data.images import images_in, no_images_message

            found = images_in(path, recursive)
            yield from found
            if not found:
                missing.append(no_images_message(item, path, recursive))
        elif kind == "file":
            yield path
        elif _GLOB_CHARS & set(item) and (matches := _glob(item, recursive)):
            yield from (Path(m) for m in matches if Path(m).is_file())
        else:
            missing.append(f"{item}: no such file, directory or matching pattern")


# Errors that mean a name names nothing: absent, a file used as a folder, over 255 bytes, a symlink loop.
_NAMES_NOTHING = {errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP}


def _kind_of(path: Path) -> Optional[str]:
    """"directory", "file" (anything else that exists), or None for a name that cannot name anything here."""
    try:
        mode = path.stat().st_mode
    except ValueError:  # a NUL in the name: no file can be called that
        return None
    except OSError as exc:
        if exc.errno in _NAMES_NOTHING:
            return None
        raise
    return "directory" if stat.S_ISDIR(mode) else "file"


def _glob(pattern: str, recursive: bool) -> list[str]:
    """The names a pattern matches, sorted; none for a pattern no name can match (a NUL in it)."""
    try:
        return sorted(glob.glob(pattern, recursive=recursive))
    except ValueError:
        return []


def _names_from_stdin() -> list[str]:
    """The paths on stdin, one a line, blank lines skipped. Read as bytes and decoded as the operating
    system decodes file names, so a name that is not UTF-8 still names its file."""
    if sys.stdin is None:  # started with stdin closed: no names
        return []
    stream = getattr(sys.stdin, "buffer", None)
    data = stream.read() if stream is not None else os.fsencode(sys.stdin.read())
    return [os.fsdecode(line.strip()) for line in data.split(b"\n") if line.strip()]


@dataclass(frozen=True)
class PredictOptions:
    """`lenet predict`'s options, declared once: the command adds their help, the quick path fills them directly."""

    checkpoint: Optional[str] = None
    number: bool = False
    topk: int = TOPK
    as_json: bool = False
    as_csv: bool = False
    preprocess: Optional[str] = None
    save_preprocessed: Optional[Path] = None
    recursive: bool = False
    jobs: Optional[int] = None
    project: Path = Path("runs/train")
    device: str = "auto"
    fail_on_no_digit: bool = False
    digits: Optional[int] = None


def predict(inputs: Optional[list[str]], options: PredictOptions = PredictOptions()) -> None:
    """Predict the class of each input and print it."""
    from ..api.model import load
    from ..inference.predictor import Unreadable

    o = options

    if not inputs:
        raise UsageError("Give image files, directories, glob patterns, or - to read paths from stdin")
    if o.as_json and o.as_csv:
        raise UsageError("Choose one of --json and --csv")
    model = load(o.checkpoint, device=o.device, preprocess=o.preprocess, project=o.project)
    saver = PreprocessedSaver(o.save_preprocessed) if o.save_preprocessed is not None else None
    missing: list[str] = []
    paths = _noted(expand_inputs(list(inputs), o.recursive, missing))
    if saver is not None:
        paths = saver.refuse_inputs_inside(list(paths))
    number = o.number or o.digits is not None  # --digits N reads a number of N digits
    report = Report(o.as_json, o.as_csv, number)
    results = model.predict_files(paths, number=number, digits=o.digits, topk=o.topk, jobs=o.jobs,
                                  on_prepared=saver if number else _noticing_rows(saver),
                                  stages_needed=None if saver else ("glyphs",))
    bad = blank = 0
    for item in results:
        if isinstance(item, Unreadable):
            print_error(item.message)
            bad += 1
        else:
            report.add(item)
            blank += _holds_no_digit(item)
    report.finish()
    for line in missing:
        print_error(line)
    if missing:
        raise InputNotFound(f"{len(missing)} input(s) not found")
    if bad:
        raise DataFormatError(f"{bad} input(s) could not be read; the others were predicted")
    if blank and o.fail_on_no_digit:
        raise DataFormatError(f"{blank} picture(s) held no digit (--fail-on-no-digit); the others were predicted")
    if saver is not None:
        saver.raise_if_failed()


def _holds_no_digit(item) -> bool:
    """A picture read as no digit: a prediction with a reason instead of a class, or an empty number."""
    return getattr(item, "reason", None) is not None or getattr(item, "number", None) == ""


def _noted(paths: Iterator[Path]) -> Iterator[Path]:
    """The inputs, each marked as one as it comes: no output of this command may replace it."""
    for path in paths:
        note_input(path)
        yield path


def _noticing_rows(saver: "PreprocessedSaver | None"):
    """The on_prepared hook of single-digit predictions: saves (when asked) and notes a row of digits."""
    def on_prepared(index: int, path: Path, image, stages: dict) -> None:
        if stages.get("glyphs", 1) >= 2:
            print_note(f"{path} seems to hold {stages['glyphs']} digits side by side; "
                       "`lenet predict --number` reads them as one number")
        if saver is not None:
            saver(index, path, image, stages)

    return on_prepared


class Report:
    """Prints predictions as a table (at the end), JSON Lines or CSV (as they come)."""

    def __init__(self, as_json: bool, as_csv: bool, number: bool) -> None:
        self.as_json, self.number, self.rows = as_json, number, []
        self.writer = csv.writer(sys.stdout, lineterminator="\n") if as_csv else None
        if self.writer:
            self.writer.writerow(["path", "number", "probability", "digits"] if number else
                                 ["path", "predicted", "class_name", "probability", "topk"])

    def add(self, item) -> None:
        if self.as_json:
            print_json(item.to_dict())
        elif self.writer and self.number:
            self.writer.writerow([item.path, item.number, f"{item.probability:.6f}", ";".join(
                f"{d['class_name']}:{d['probability']:.6f}@{','.join(map(str, d['box']))}" for d in item.digits)])
        elif self.writer and item.reason is not None:
            self.writer.writerow([item.path, "", "", "", ""])  # no digit: no class, no probability
        elif self.writer:
            self.writer.writerow([item.path, item.label, item.class_name, f"{item.probability:.6f}",
                                  ";".join(f"{n}:{p:.6f}" for n, p in item.topk)])
        else:
            self.rows.append(item)

    def finish(self) -> None:
        if self.rows:
            _print_table(self.rows, self.number)


class PreprocessedSaver:
    """Writes what the model saw into a directory as NNNNN-name.png (NNNNN-name-K.png per digit of a
    number) and the steps that made it as NNNNN-name.steps.png, atomically; a failed write is
    remembered, not raised, so the predictions are never lost to a picture."""

    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _output_error(exc, f"Cannot create {directory}") from None
        self.directory = directory
        self.failure: LenetError | None = None
        self.failed = 0

    def refuse_inputs_inside(self, paths: list[Path]) -> list[Path]:
        """``paths``, unless one lies in the folder the pictures go to, where a picture could replace it (exit 2)."""
        folder = self.directory.resolve()
        for path in paths:
            if path.resolve().parent == folder:
                raise UsageError(f"--save-preprocessed {self.directory} holds the input {path}, which a picture "
                                 "could replace; nothing was written (choose a folder that holds no input)")
        return paths

    def __call__(self, index: int, path: Path, image, stages: dict) -> None:
        from PIL import Image

        from ..evaluation.pictures import draw_preparation, draw_row_graph, save_png

        stem = f"{index:05d}-{path.stem}"
        inputs = {f"{stem}-{k + 1}.png": digit for k, digit in enumerate(stages["digits"])} if "digits" in stages \
            else {f"{stem}.png": image}
        for name, picture in inputs.items():
            self._write(lambda target, picture=picture: save_png(Image.fromarray(
                picture[0] if picture.shape[0] == 1 else picture.transpose(1, 2, 0)), target), name)
        if "picture" in stages:
            self._write(lambda target: draw_preparation({**stages, "model input": image}, target), f"{stem}.steps.png")
        if "row" in stages:
            self._write(lambda target: draw_row_graph(*stages["row"], target), f"{stem}.graph.png")

    def _write(self, write, name: str) -> None:
        target = self.directory / name
        try:
            write(target)
        except OSError as exc:
            self.failed += 1
            self.failure = self.failure or _output_error(exc, f"Could not save {target}")

    def raise_if_failed(self) -> None:
        if self.failure is not None:
            raise type(self.failure)(f"{self.failure} ({self.failed} preprocessed image(s) not saved; "
                                     "the predictions above are complete)")


def _output_error(exc: OSError, action: str) -> LenetError:
    """The error of an output that could not be made. "No such file" here is not a missing input (66) but
    a place where nothing can be created (/proc, a folder removed meanwhile): cannot create output (73)."""
    error = from_os_error(exc, action)
    return CannotCreateOutput(str(error)) if isinstance(error, InputNotFound) else error


CLOSE = 2.0  # an alternative reading within this log score of the best (about 7 times less likely) is shown


def _with_close_alternatives(reading) -> str:
    """The number, followed by "(or ...)" with the alternative readings that score close to it."""
    close = [a["number"] for a in reading.alternatives if reading.score - a["score"] <= CLOSE]
    return f"{reading.number} (or {', '.join(close)})" if close and reading.number else reading.number


def _print_table(rows, number: bool) -> None:
    """The predictions as a table; every cell is shown, never obeyed (markup and control characters escaped)."""
    from rich.markup import escape

    def cell(text: str) -> str:
        return escape(safe_text(text))

    table = new_table()
    table.add_column("path", overflow="fold")
    if number:
        table.add_column("number")
        table.add_column("probability", justify="right")
        table.add_column("digits")
        for r in rows:
            table.add_row(cell(r.path), cell(_with_close_alternatives(r)) or "(no digits found)", f"{r.probability:.2%}",
                          cell(" ".join(f"{d['class_name']} {d['probability']:.0%}" for d in r.digits)))
    else:
        table.add_column("class")
        table.add_column("probability", justify="right")
        table.add_column("top-k")
        for r in rows:
            if r.reason is not None:
                table.add_row(cell(r.path), "no digit", "", cell(r.reason))
                continue
            table.add_row(cell(r.path), cell(r.class_name), f"{r.probability:.2%}",
                          cell(", ".join(f"{n} {p:.1%}" for n, p in r.topk)))
    out().print(table)
