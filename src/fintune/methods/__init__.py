"""Fine-tuning methods: each maps onto PEFT (or onto requires_grad flags) plus optimizer groups."""

from fintune.methods.apply import apply_method, trainable_counts
from fintune.methods.optimizer import build_optimizer

__all__ = ["apply_method", "build_optimizer", "trainable_counts"]
