"""Training: the run workflow, the loop, batching, checkpoints and the run directory."""
