"""Inference: the Predictor and its backends (PyTorch checkpoints, exports), choosing a model, inspection.

Nothing imported at the package level loads torch.
"""
