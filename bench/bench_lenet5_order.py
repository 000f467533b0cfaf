"""LeNet-5's two orders of a subsampling layer, side by side: pooling then ReLU (the model as declared)
against ReLU then pooling (the tutorials' order), in both memory layouts.

The two orders give the same numbers bit for bit (tests/test_registry.py); this measures what each
costs: training steps at batch 256 and evaluation passes at batch 64 and 1,000 on real MNIST,
in alternated rounds, medians. Prints one JSON report.

    python bench/bench_lenet5_order.py [--rounds 6] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from lenet_cli.data import get_dataset
from lenet_cli.data.preprocess import Normalization, to_model_input
from lenet_cli.models import get_model, get_model_spec

LAYOUTS = {"channels-last": torch.channels_last, "row-major": torch.contiguous_format}


def _orders(model: torch.nn.Module) -> dict[str, torch.nn.Sequential]:
    """The model's feature layers as declared, and the same modules in the tutorials' order."""
    c1, s2, relu1, c3, s4, relu3 = model.features
    return {"pool, then ReLU (declared)": model.features,
            "ReLU, then pool": torch.nn.Sequential(c1, relu1, s2, c3, relu3, s4)}


def _train_seconds(model, features, x, y, steps: int) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    start = time.perf_counter()
    for i in range(steps):
        batch = slice(i * 256 % (len(x) - 256), i * 256 % (len(x) - 256) + 256)
        optimizer.zero_grad(set_to_none=True)
        out = model.classifier(torch.flatten(features(x[batch]), 1))
        torch.nn.functional.cross_entropy(out, y[batch]).backward()
        optimizer.step()
    return time.perf_counter() - start


def _eval_seconds(model, features, x, batch: int) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            model.classifier(torch.flatten(features(x[i:i + batch]), 1))
    return time.perf_counter() - start


def measure(rounds: int) -> dict:
    data = get_dataset("mnist", "test")
    x = to_model_input(data.images[:4096], Normalization.for_model(get_model_spec("lenet5"), data.spec, 32))
    y = data.labels[:4096]
    report: dict = {}
    for layout_name, layout in LAYOUTS.items():
        torch.manual_seed(0)
        model = get_model("lenet5").to(memory_format=layout)
        xs = x.contiguous(memory_format=layout)
        timings: dict = {}
        for _ in range(rounds):  # alternated, so drifts of the machine hit both orders alike
            for order, features in _orders(model).items():
                row = timings.setdefault(order, {"train images/s (batch 256)": [], "eval ms/image (batch 64)": [],
                                                 "eval ms/image (batch 1000)": []})
                row["train images/s (batch 256)"].append(20 * 256 / _train_seconds(model, features, xs, y, 20))
                row["eval ms/image (batch 64)"].append(1000 * _eval_seconds(model, features, xs, 64) / len(xs))
                row["eval ms/image (batch 1000)"].append(1000 * _eval_seconds(model, features, xs, 1000) / len(xs))
        report[layout_name] = {order: {k: round(statistics.median(v), 4) for k, v in row.items()}
                               for order, row in timings.items()}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(json.dumps({"threads": torch.get_num_threads(), "torch": torch.__version__, **measure(args.rounds)},
                     indent=2))


if __name__ == "__main__":
    main()
