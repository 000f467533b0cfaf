"""Run the examples of docs/python-api.md and redraw its pictures.

    python bench/docs_python_api.py [--work DIR]

Trains LeNet-5 for one epoch on the bundled MNIST (seed 0) in a scratch directory, runs each example the
guide shows, prints what it gives (the guide's output blocks) and saves its figures into
docs/img/python-api/. About a minute on a 2-core CPU. The tour notebook (docs/notebooks/tour.ipynb) is
refreshed with ``jupyter execute --inplace docs/notebooks/tour.ipynb``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import lenet_cli as lenet

REPO = Path(__file__).resolve().parent.parent
IMG = REPO / "docs" / "img" / "python-api"


def show(title: str, *values: object) -> None:
    print(f"--- {title}")
    for value in values:
        print(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(tempfile.mkdtemp(prefix="lenet-guide-")))
    args = parser.parse_args()
    IMG.mkdir(parents=True, exist_ok=True)
    os.chdir(REPO)  # the guide's paths are relative to a checkout
    run = lenet.train(dataset="mnist", epochs=1, seed=0, project=args.work / "runs", name="exp")
    show("run", run.status, run.test_accuracy, run.best_epoch, run.best_checkpoint.name, run.history[0])
    model = lenet.load(run.best_checkpoint)
    evaluation = model.evaluate()
    show("evaluate", evaluation.accuracy, evaluation.loss, evaluation.topk_accuracy, evaluation.per_class[3],
         evaluation.confusion[3], len(evaluation.mistakes))
    evaluation.plot_confusion().savefig(IMG / "confusion.png")
    evaluation.plot_mistakes(16).savefig(IMG / "mistakes.png")
    predictions(model)
    model.inspect("docs/img/reading/photos/a-card.jpg").savefig(IMG / "inspect.png")
    onnx = model.export(format="onnx", out=args.work / "lenet5.onnx")
    show("export", onnx.name, lenet.load(onnx).predict("docs/img/reading/photos/a-card.jpg").class_name)
    summary = model.summary()
    show("summary", summary.total_params, summary.rows[0])
    show("runs", [(r.name, r.status, r.test_acc) for r in lenet.runs(args.work / "runs")])
    try:
        lenet.load("runs/train/nowhere/best.pt")
    except lenet.LenetError as error:
        show("error", type(error).__name__, error.exit_code, error)
    print(f"pictures in {IMG}")


def predictions(model: lenet.Model) -> None:
    """The predict examples: a photo, pictures in memory, a batch of MNIST test images, a number."""
    import numpy as np
    from PIL import Image

    p = model.predict("docs/img/reading/photos/a-card.jpg")
    show("predict", p.label, p.class_name, p.probability, p.topk, p.input.shape)
    card = Image.open("docs/img/reading/photos/a-pencil.jpg")
    found = model.predict(["docs/img/handwriting/00000.jpg", card, np.asarray(card)])
    show("predict list", [(q.path, q.class_name) for q in found])
    test = lenet.get_dataset("mnist", "test")
    batch = model.predict(test.images[:8])  # a uint8 tensor, 8 x 1 x 28 x 28
    show("predict batch", [q.label for q in batch], test.labels[:8].tolist())
    reading = model.predict("docs/img/paper/number.jpg", number=True)
    show("number", reading.number, reading.alternatives, reading.digits[1])


if __name__ == "__main__":
    main()
