"""Training, evaluation, checkpoints and run directories. Never prints; reports through callbacks."""
