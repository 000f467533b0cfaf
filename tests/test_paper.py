"""Digits on real paper: coloured card, ruled and squared notebooks, pencil in bad light, whole numbers."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from lenet_cli.data.search import BUNDLED_DIR
from lenet_cli.cli.app import app
from lenet_cli.reading.ink import components, find_ink, remove_rules
from lenet_cli.inference.loading import load_predictor, resolve_for_prediction
from paper_digits import KINDS, generate
from photo_digits import load_mnist_test

# Measured on this sample (40 of each kind, seed 7) with the bundled weights: coloured 97.5 %,
# ruled 95 %, squared 100 %, pencil 100 %, numbers 97.5 % exactly right. Thresholds sit a little under.
MNIST_DIR = BUNDLED_DIR / "mnist"
THRESHOLDS = {"coloured": 0.9, "ruled": 0.88, "squared": 0.9, "pencil": 0.9, "number": 0.85}


@pytest.fixture(scope="module")
def paper(tmp_path_factory) -> list[tuple[Path, str, str]]:
    return generate(tmp_path_factory.mktemp("paper"), MNIST_DIR, per_kind=40, seed=7)


@pytest.fixture(scope="module")
def predictor():
    return load_predictor(resolve_for_prediction(None, Path("runs/train")), None)


@pytest.mark.parametrize("kind", KINDS)
def test_bundled_model_reads_each_kind_of_paper(paper, predictor, kind: str) -> None:
    items = [(path, label) for path, k, label in paper if k == kind]
    if kind == "number":
        read = [predictor.read_number(path).number for path, _ in items]
    else:
        read = [p.class_name for p in predictor.predict_paths([path for path, _ in items])]
    accuracy = sum(r == label for r, (_, label) in zip(read, items)) / len(items)
    assert accuracy >= THRESHOLDS[kind], (kind, accuracy)


def _canvas(rgb=(245, 245, 240), size=(120, 160)) -> np.ndarray:
    return np.ones((*size, 3), np.float32) * np.asarray(rgb, np.float32) / 255.0


def test_rules_are_removed_and_a_stroke_crossing_them_is_kept() -> None:
    picture = _canvas()
    picture[40:42, :] = np.array([120, 160, 220]) / 255.0  # a blue rule across the page
    picture[80:82, :] = np.array([120, 160, 220]) / 255.0
    picture[20:100, 70:76] = 0.1  # a digit's vertical stroke crossing both
    ink = find_ink(picture)
    assert not ink.mask[40:42, :60].any() and not ink.mask[80:82, 90:].any()  # the rules are gone
    assert ink.mask[20:100, 70:76].mean() > 0.9  # the stroke is whole, where it crosses them too
    assert ink.raw[40:42, :60].mean() > 0.3  # they were seen as ink before removal


def test_a_digits_own_bar_is_not_a_rule() -> None:
    picture = _canvas(size=(200, 200))
    picture[60:66, 60:140] = 0.1  # a 7's top: a long bar, but far from the picture's sides
    picture[66:150, 128:134] = 0.1
    assert find_ink(picture).mask[60:66, 60:140].mean() > 0.9


@pytest.mark.parametrize("paper_rgb, ink_rgb", [
    ((200, 40, 40), (20, 20, 90)),  # dark pen on red card
    ((50, 90, 200), (15, 15, 30)),  # dark pen on blue card
    ((40, 60, 45), (235, 235, 230)),  # chalk on a green board: light ink
    ((230, 210, 60), (30, 30, 120)),  # blue pen on yellow card
])
def test_ink_is_found_whatever_the_paper_colour_and_polarity(paper_rgb, ink_rgb) -> None:
    picture = _canvas(paper_rgb, size=(100, 100))
    picture[30:70, 45:52] = np.asarray(ink_rgb) / 255.0
    mask = find_ink(picture).mask
    assert mask[32:68, 46:51].mean() > 0.9 and mask.sum() < 2 * 40 * 7


def test_shadow_edge_is_not_ink() -> None:
    picture = _canvas(size=(160, 160))
    picture[:, 80:] *= 0.55  # half the page in shadow
    picture[40:120, 40:46] *= 0.25  # a stroke in the light
    picture[40:120, 110:116] *= 0.25  # and one in the shadow
    mask = find_ink(picture).mask
    assert mask[45:115, 41:45].all() and mask[45:115, 111:115].all()
    assert mask[:, 76:84].sum() < 20


def _flood_fill_count(mask: np.ndarray) -> int:
    """8-connected components by breadth-first search: slow and obviously right."""
    seen = np.zeros_like(mask)
    count = 0
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        count += 1
        queue = deque([start])
        seen[start] = True
        while queue:
            y, x = queue.popleft()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
    return count


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.1, 0.6))
def test_components_match_a_flood_fill(seed: int, density: float) -> None:
    mask = np.random.default_rng(seed).random((17, 23)) < density
    labels, pieces = components(mask)
    assert len(pieces) == _flood_fill_count(mask)
    assert ((labels > 0) == mask).all() and sum(p.area for p in pieces) == mask.sum()
    for piece in pieces:
        ys, xs = np.nonzero(labels == piece.label)
        assert (piece.x0, piece.y0, piece.x1, piece.y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_remove_rules_leaves_a_picture_without_rules_alone() -> None:
    strength = np.zeros((50, 50), np.float32)
    strength[10:40, 20:24] = 1.0
    assert (remove_rules(strength, strength > 0.5) == strength).all()


def _number_picture(path: Path, digits: list[np.ndarray]) -> None:
    """Dark ink on white: the digits side by side with a gap."""
    row = np.concatenate([np.pad(np.asarray(Image.fromarray(d).resize((84, 84), Image.BICUBIC)), ((30, 30), (12, 12)))
                          for d in digits], axis=1)
    Image.fromarray((255 - row * 0.9).astype(np.uint8)).save(path)


def test_number_json_csv_and_table(runner, tmp_path: Path) -> None:
    images, labels = load_mnist_test(MNIST_DIR)
    _number_picture(tmp_path / "n.png", [images[i] for i in (0, 1, 2)])  # 7, 2, 1
    expected = "".join(str(int(labels[i])) for i in (0, 1, 2))
    result = runner.invoke(app, ["predict", "--number", "--json", str(tmp_path / "n.png")])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert set(row) == {"path", "number", "probability", "digits"} and row["number"] == expected == "721"
    assert [d["class_name"] for d in row["digits"]] == list(expected)
    boxes = [d["box"] for d in row["digits"]]
    assert all(x0 < x1 and y0 < y1 for x0, y0, x1, y1 in boxes) and boxes == sorted(boxes)
    assert row["probability"] == pytest.approx(np.prod([d["probability"] for d in row["digits"]]))
    result = runner.invoke(app, ["predict", "-n", "--csv", str(tmp_path / "n.png")])
    assert result.stdout.splitlines()[0] == "path,number,probability,digits"
    assert result.stdout.splitlines()[1].split(",")[1] == "721"
    result = runner.invoke(app, ["predict", "-n", str(tmp_path / "n.png")])
    assert result.exit_code == 0 and "721" in result.stdout


def test_a_row_of_digits_without_number_gets_a_note(runner, tmp_path: Path) -> None:
    images, _ = load_mnist_test(MNIST_DIR)
    _number_picture(tmp_path / "row.png", [images[i] for i in (0, 1, 2)])
    _number_picture(tmp_path / "one.png", [images[0]])
    result = runner.invoke(app, ["predict", "--json", str(tmp_path / "row.png"), str(tmp_path / "one.png")])
    assert result.exit_code == 0
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "row.png seems to hold 3 digits" in notes[0] and "--number" in notes[0]
    assert len(result.stdout.splitlines()) == 2  # stdout stays pure JSON Lines


def test_blank_picture_reads_as_no_number(runner, tmp_path: Path) -> None:
    Image.fromarray(np.full((60, 200), 240, np.uint8)).save(tmp_path / "blank.png")
    result = runner.invoke(app, ["predict", "-n", "--json", str(tmp_path / "blank.png")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"path": str(tmp_path / "blank.png"), "number": "", "probability": 0.0,
                                         "digits": []}
    result = runner.invoke(app, ["predict", "-n", str(tmp_path / "blank.png"), "--save-preprocessed", str(tmp_path / "seen")])
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "seen").iterdir()] == ["00000-blank.steps.png"]  # no digits, but the steps


def test_save_preprocessed_shows_the_steps_of_a_number(runner, tmp_path: Path) -> None:
    images, _ = load_mnist_test(MNIST_DIR)
    _number_picture(tmp_path / "n.png", [images[i] for i in (0, 1)])
    result = runner.invoke(app, ["predict", "-n", str(tmp_path / "n.png"), "--save-preprocessed", str(tmp_path / "seen")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "seen").iterdir()) == ["00000-n-1.png", "00000-n-2.png",
                                                                      "00000-n.steps.png"]
    assert np.asarray(Image.open(tmp_path / "seen" / "00000-n-1.png")).shape == (28, 28)
    steps = Image.open(tmp_path / "seen" / "00000-n.steps.png")
    assert steps.height > 100 and steps.width > 3 * steps.height  # the picture, ink, rules removed, the digits


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_a_grey_picture_s_ink_is_its_lightness_distance_as_in_colour(seed: int, chalk: bool) -> None:
    """The one-channel shortcut for grey pictures gives the colour path's Delta E (its a*, b* are ~0)."""
    from lenet_cli.reading import ink as paper

    rng = np.random.default_rng(seed)
    grey = np.clip(rng.normal(0.15 if chalk else 0.85, 0.05, (40, 56)), 0, 1)
    grey[10:30, 20:26] = 0.9 if chalk else 0.1  # a stroke
    grey = np.round(grey * 255) / 255  # the levels a picture has: the tint below cannot move one to the next
    rgb = np.repeat(grey[..., None], 3, axis=-1).astype(np.float32)
    tinted = rgb.copy()
    tinted[..., 2] = np.nextafter(tinted[..., 2], np.float32(2))  # not exactly grey: the colour path runs
    assert np.abs(paper.ink_strength(rgb) - paper.ink_strength(tinted)).max() < 0.05


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 3), st.integers(0, 7), st.sampled_from([0, 1]))
def test_edge_padding_is_numpy_s(h: int, w: int, channels: int, width: int, axis: int) -> None:
    from lenet_cli.reading.ink import _edge_padded

    array = np.random.default_rng(h * w + width).random((h, w, channels)).astype(np.float32)
    pad = [(0, 0)] * 3
    pad[axis] = (width, width)
    assert np.array_equal(_edge_padded(array, width, axis), np.pad(array, pad, mode="edge"))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.sampled_from([1, 3]), st.sampled_from([1, 3, 5, 13]),
       st.sampled_from([0, 1]), st.booleans(), st.sampled_from([0, 3]))
def test_rank_filter_takes_the_first_extreme_of_each_window(h: int, w: int, channels: int, size: int, axis: int,
                                                            brightest: bool, levels: int) -> None:
    """The doubling windows pick the pixel that ``np.argmax`` (``argmin``) over each (odd-sized) window picks,
    ties included (``levels`` > 0 makes many)."""
    from numpy.lib.stride_tricks import sliding_window_view

    from lenet_cli.reading.ink import _edge_padded, _luminance, _rank_filter_along, _window_argmax

    rgb = np.random.default_rng(h * w + size).random((h, w, channels)).astype(np.float32)
    if levels:
        rgb = np.round(rgb * levels) / levels
    padded = _edge_padded(rgb, size // 2, axis)
    luminance = _luminance(padded)
    windows = sliding_window_view(luminance, size, axis=axis)
    pick = np.argmax(windows, axis=-1) if brightest else np.argmin(windows, axis=-1)
    key = np.moveaxis(luminance, axis, -1)
    assert np.array_equal(_window_argmax(key if brightest else -key, size)[1], np.moveaxis(pick, axis, -1))
    rows, cols = np.indices((h, w))
    expected = padded[rows + pick, cols] if axis == 0 else padded[rows, cols + pick]
    assert np.array_equal(_rank_filter_along(rgb, size, brightest, axis), expected)
