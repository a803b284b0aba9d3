"""Training: the loop, batching, checkpoints and the run directory."""
