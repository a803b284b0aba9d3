"""The validation metrics of a zero-shot run with and without contextual calibration (inference/calibration.py)."""

from __future__ import annotations

import numpy as np

from fintune.eval.metrics import classification_metrics
from fintune.inference.calibration import CONTENT_FREE, calibrate, uncalibrate


def calibration_report(used: str, probs: np.ndarray, y_true: list[str], labels: list[str], prior: np.ndarray) -> dict:
    """The `calibration` block of a zero-shot run: the prior and the validation metrics with and without it."""
    raw = probs if used == "none" else uncalibrate(probs, prior)
    ways = {"none": raw, "content_free": calibrate(raw, prior)}
    keys = ("accuracy", "f1_macro", "f1_weighted", "mcc")
    validation = {}
    for name, p in ways.items():
        block = classification_metrics(y_true, [labels[i] for i in p.argmax(axis=1)], labels)
        validation[name] = {k: block[k] for k in keys}
    return {
        "used": used,
        "content_free_inputs": list(CONTENT_FREE),
        "content_free_prior": {label: round(float(q), 6) for label, q in zip(labels, prior)},
        "validation": validation,
    }
