"""The notebooks under docs/: run by a real Jupyter kernel (ipykernel through nbclient), offline, as a user
runs them; and the outputs saved with them, which the docs site shows, are a whole run's."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO

NOTEBOOKS = sorted((REPO / "docs" / "notebooks").glob("*.ipynb"))
nbformat = pytest.importorskip("nbformat", reason="the notebooks extra (pip install -e '.[notebooks]') runs notebooks")


def _outputs(notebook) -> list[dict]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def _pictures(notebook) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"])))
            for output in _outputs(notebook) if "image/png" in output.get("data", {})]


def test_there_is_a_tour() -> None:
    assert REPO / "docs" / "notebooks" / "tour.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_saved_outputs_are_a_whole_runs_with_pictures(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    counts = [cell.execution_count for cell in notebook.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), "run it top to bottom: jupyter execute --inplace"
    assert not [output for output in _outputs(notebook) if output["output_type"] == "error"]
    assert all(picture.width >= 300 for picture in _pictures(notebook)) and len(_pictures(notebook)) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_kernel_runs_the_notebook_offline(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbclient = pytest.importorskip("nbclient", reason="the notebooks extra runs notebooks")
    monkeypatch.setenv("LENET_OFFLINE", "1")
    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    html = "".join(output.get("data", {}).get("text/html", "") for output in _outputs(notebook))
    assert "<progress" in html and "data:image/png;base64" in html  # the training bar; a prediction's input
    assert len(_pictures(notebook)) >= 4  # curves, confusion matrix, mistakes, inspection
    streams = "".join(output.get("text", "") for output in _outputs(notebook) if output["output_type"] == "stream")
    assert "epoch 1/1" in streams
