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


TRAIN_UNTIL_INTERRUPTED = """
import time, lenet_cli as lenet

def slowly(kind, payload):
    if kind == "step":
        print("step", flush=True)
        time.sleep(0.05)

try:
    lenet.train(dataset={data!r}, project={project!r}, epochs=2, seed=0, batch_size=8, threads=1, progress=False,
                callbacks=[slowly])
except KeyboardInterrupt as stopped:
    run = stopped.run
    print("stopped", type(stopped).__name__, run.status, run.last_checkpoint.is_file())
"""


def test_interrupting_the_kernel_stops_training_and_the_kernel_resumes_it(tmp_path: Path) -> None:
    """The kernel's interrupt (SIGINT) stops lenet_cli.train after the step with last.pt saved; the kernel lives
    on, and the next cell continues the run."""
    from conftest import write_mnist_files

    manager = pytest.importorskip("jupyter_client.manager", reason="nbclient brings jupyter_client")
    data = f"idx:{write_mnist_files(tmp_path / 'data', n_train=96, n_test=16)}"
    kernel, client = manager.start_new_kernel(kernel_name="python3")
    try:
        cell = client.execute(TRAIN_UNTIL_INTERRUPTED.format(data=data, project=str(tmp_path / "runs")))
        printed: list[str] = []
        while True:
            message = client.get_iopub_msg(timeout=120)
            if message["parent_header"].get("msg_id") != cell:
                continue
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
            if message["msg_type"] == "stream":
                if not printed:  # training is under way: interrupt once, as the notebook's stop button does
                    kernel.interrupt_kernel()
                printed.append(message["content"]["text"])
        assert "stopped TrainingStopped interrupted True\n" in "".join(printed)
        resumed: list[str] = []
        reply = client.execute_interactive("print(lenet.train(resume=run.last_checkpoint, progress=False).epochs)",
                                           timeout=120, output_hook=lambda m: resumed.append(m["content"].get("text")))
        assert reply["content"]["status"] == "ok" and "2\n" in resumed  # both epochs done
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
