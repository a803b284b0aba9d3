"""Contextual calibration of label scoring (Zhao et al., 2021, "Calibrate Before Use").

A zero-shot LM can prefer one label whatever the input (SmolLM2-135M calls almost every FPB sentence negative).
Its probabilities for inputs that carry no content ("N/A", "", "[MASK]") measure that prior; dividing each
label's probability by it and renormalising removes it. Division then renormalisation per row is invertible
(multiply by the prior, renormalise), so one set of validation probabilities gives the metrics both ways.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CONTENT_FREE = ("N/A", "", "[MASK]")


def content_free_prior(raw_probs_of: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """The mean label distribution of the content-free inputs, shape (n_labels,)."""
    return raw_probs_of(list(CONTENT_FREE)).mean(axis=0)


def calibrate(probs: np.ndarray, prior: np.ndarray) -> np.ndarray:
    scaled = probs / np.clip(prior, 1e-12, None)
    return scaled / scaled.sum(axis=1, keepdims=True)


def uncalibrate(probs: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """The inverse of `calibrate`: the raw probabilities that calibrate to `probs`."""
    scaled = probs * prior
    return scaled / scaled.sum(axis=1, keepdims=True)
