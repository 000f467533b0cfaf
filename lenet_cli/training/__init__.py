"""Training: the loop in phases (trainer), its state, recipe, losses, augmentation, run records, distributed.

Import the modules themselves (``from lenet_cli.training.trainer import train``);
this package imports nothing, so reading ``training.config`` never loads torch.
"""
