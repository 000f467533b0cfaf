"""Training: the loop in phases (trainer), its state, the optimization (loss, optimizer, schedule), the epochs' sampling,
augmentation, run directories written and read, tensorboard, tune, distributed.

Import the modules themselves (``from lenet_cli.training.trainer import train``);
this package imports nothing, so reading ``training.config`` never loads torch.
"""
