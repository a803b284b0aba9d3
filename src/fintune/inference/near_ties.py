"""Near ties: the texts whose int8 label could differ from the fp32 label, so the ONNX predictor re-scores them in fp32.

int8 moves a text's probabilities by little in the median and a lot in the tail (benchmarks/RESULTS.md, "CPU
inference"), so a few labels flip, and always where the top two classes were close.
A flip needs the quantisation error to outweigh the int8 margin: if int8 says b where fp32 says a, then
q_b - q_a >= margin(q) while f_b - f_a <= 0, so the difference p_b - p_a moved by at least margin(q). The export
measures that movement (`distortion`) on texts the run was not tested on and records its QUANTILE as the margin; a
text whose int8 margin is within it is re-scored with the fp32 graph. So an int8 label can differ from fp32's
unnoticed only on texts whose error exceeds the margin: 1 - QUANTILE of texts like the measured ones. (The largest
error, not a quantile, would hang on one text and re-score many more.)
numpy only, like the ONNX predictor.
"""

from __future__ import annotations

import numpy as np

QUANTILE = 0.999


def distortion(exact: np.ndarray, approx: np.ndarray) -> np.ndarray:
    """Per row, the largest change in a difference of two class probabilities from `exact` to `approx`."""
    change = approx - exact
    return change.max(axis=1) - change.min(axis=1)


def margins(probs: np.ndarray) -> np.ndarray:
    """Per row, top probability minus the runner-up's (0 for a single class)."""
    if probs.shape[1] < 2:
        return np.zeros(len(probs), dtype=probs.dtype)
    top2 = np.partition(probs, -2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def near_tie_margin(exact: np.ndarray, approx: np.ndarray, quantile: float = QUANTILE) -> float:
    """The margin within which `approx` answers are re-scored: that quantile of the distortions (0.0 for no rows)."""
    return float(np.quantile(distortion(exact, approx), quantile)) if len(exact) else 0.0


def near_ties(probs: np.ndarray, margin: float) -> np.ndarray:
    """Row indices of `probs` whose label is within `margin` of another class."""
    return np.flatnonzero(margins(probs) <= margin)
