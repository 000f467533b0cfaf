"""lenet: train, evaluate, inspect, export and use LeNet-family networks on MNIST-like data.

    import lenet_cli as lenet

    run = lenet.train(dataset="mnist", epochs=3, seed=0)
    model = lenet.load(run.best_checkpoint)
    model.predict("digit.jpg")

The public API is importable without torch; torch loads when a model or a
dataset is actually built. Its names load on first use, so a command that needs
none of them (``lenet predict``) does not pay for them at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

_PUBLIC = {  # public name -> the submodule that defines it
    "train": "api.training", "Run": "api.training", "RunList": "api.training", "TrainingStopped": "api.training",
    "runs": "api.training",
    "load": "api.model", "Model": "api.model", "PredictionList": "api.model", "summary": "api.model",
    "Prediction": "inference.predictor", "NumberReading": "inference.predictor",
    "Evaluation": "evaluation.evaluate", "Mistakes": "evaluation.evaluate", "Summary": "models.summary",
    "Dataset": "data", "DatasetSpec": "data", "get_dataset": "data", "get_dataset_spec": "data", "list_datasets": "data",
    "LenetError": "errors",
    "ModelSpec": "models", "get_model": "models", "get_model_spec": "models", "list_models": "models",
    "register_model": "models",
}
__all__ = ["__version__", *_PUBLIC]
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)

if TYPE_CHECKING:
    from .api.model import Model, PredictionList, load, summary
    from .api.training import Run, RunList, TrainingStopped, runs, train
    from .evaluation.evaluate import Evaluation, Mistakes
    from .inference.predictor import NumberReading, Prediction
    from .models.summary import Summary
    from .data import Dataset, DatasetSpec, get_dataset, get_dataset_spec, list_datasets
    from .errors import LenetError
    from .models import ModelSpec, get_model, get_model_spec, list_models, register_model
