"""Batches of texts of similar token count, so a forward pass computes little padding. numpy only: the torch
predictor and the ONNX predictor (which must not import torch) both batch with it."""

from __future__ import annotations

import numpy as np

MAX_PADDING = 0.02
"""A batch ends before a text that would make more than this share of its token positions padding: less padding
than fixed batches sorted by token count, measured in benchmarks/RESULTS.md ("CPU inference")."""
MIN_TOKENS = 256
"""...but not before the batch holds this many token positions: the long texts are few and of scattered lengths, and
cutting them one by one would leave matmuls too small to run at full speed."""


def length_batches(
    lengths, max_texts: int, max_padding: float = MAX_PADDING, min_tokens: int = MIN_TOKENS
) -> list[np.ndarray]:
    """Indices into `lengths` (token counts), shortest texts first, cut into consecutive batches of at most
    `max_texts`; every index appears once."""
    lengths = np.asarray(lengths)
    batches: list[np.ndarray] = []
    start, real = 0, 0  # the open batch is order[start:i]; `real` its token count
    order = np.argsort(lengths, kind="stable")
    for i, index in enumerate(order):
        size, width = i - start, int(lengths[index])  # sorted: the newcomer is the widest
        if size:
            padding = 1 - (real + width) / (width * (size + 1))
            held = int(lengths[order[i - 1]]) * size  # token positions of the open batch as it stands
            if size == max_texts or (padding > max_padding and held >= min_tokens):
                batches.append(order[start:i])
                start, real = i, 0
        real += width
    if len(order):
        batches.append(order[start:])
    return batches
