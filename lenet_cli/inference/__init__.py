"""Inference: the Predictor and its backends (PyTorch checkpoints, exports), choosing a model, inspection.

Nothing imported at the package level loads torch.
"""

__all__ = ["TOPK", "MOST_DIGITS"]

TOPK = 3  # one default for every command that lists the most likely classes (of 10, top-5 is nearly always right)
MOST_DIGITS = 64  # the longest number `--digits N` (and the API's digits=N) asks for
