"""Evaluation: metrics from logits, evaluating checkpoints, and the pictures of results (curves, confusion,
mistakes, inspection)."""
