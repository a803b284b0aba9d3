"""How sure is a number: bootstrap confidence intervals of accuracy, macro / weighted F1 and MCC.

A 0.55 accuracy on 300 test days has an interval of about +-0.06; without it a table invites reading
noise as skill. Resampling works on confusion matrices, all resamples at once, so it costs milliseconds
and every metrics block can carry its interval.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

CI_METRICS = ("accuracy", "f1_macro", "f1_weighted", "mcc")


def bootstrap_ci(
    y_true: list[str],
    y_pred: list[str],
    labels: list[str],
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    groups=None,
) -> dict[str, list[float]]:
    """Percentile intervals {metric: [low, high]} of accuracy, macro / weighted F1 and MCC, from resampling the
    examples with replacement.

    With `groups` (e.g. the trading day of each example) whole groups are resampled instead: examples that
    share a day share its price move, so resampling them one by one would pretend to more evidence than
    there is and give intervals that are too narrow.
    Predictions outside `labels` (e.g. unparsed LLM answers) count as wrong, as in the point estimate.
    """
    n, k = len(y_true), len(labels)
    if n == 0:
        return {}
    index = {label: i for i, label in enumerate(labels)}
    true = np.array([index[t] for t in y_true])
    pred = np.array([index.get(p, k) for p in y_pred])  # k: "none of the labels"
    size = k + 1
    cells = true * size + pred
    rng = np.random.default_rng(seed)
    if groups is None:
        draws = rng.integers(0, n, size=(n_resamples, n))
        codes = cells[draws] + (np.arange(n_resamples) * size * size)[:, None]
        cms = np.bincount(codes.ravel(), minlength=n_resamples * size * size).reshape(n_resamples, size, size)
    else:
        _, group = np.unique(np.asarray(groups), return_inverse=True)
        n_groups = int(group.max()) + 1
        per_group = np.zeros((n_groups, size * size), dtype=np.int64)
        np.add.at(per_group, (group, cells), 1)
        draws = rng.integers(0, n_groups, size=(n_resamples, n_groups))
        cms = per_group[draws].sum(axis=1).reshape(n_resamples, size, size)
    fns = (("accuracy", _accuracy), ("f1_macro", _f1_macro), ("f1_weighted", _f1_weighted), ("mcc", _mcc))
    values = {name: fn(cms, k) for name, fn in fns}
    tail = (1 - level) / 2 * 100
    return {name: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] for name, v in values.items()}


def _accuracy(cms: np.ndarray, k: int) -> np.ndarray:
    return np.trace(cms, axis1=1, axis2=2) / cms.sum(axis=(1, 2))


def _f1_per_class(cms: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(F1 of each label, its support) per resample; F1 is 0 for a label neither true nor predicted."""
    tp = np.diagonal(cms, axis1=1, axis2=2)[:, :k]
    predicted, actual = cms.sum(axis=1)[:, :k], cms.sum(axis=2)[:, :k]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(predicted + actual > 0, 2 * tp / (predicted + actual), 0.0), actual


def _f1_macro(cms: np.ndarray, k: int) -> np.ndarray:
    return _f1_per_class(cms, k)[0].mean(axis=1)


def _f1_weighted(cms: np.ndarray, k: int) -> np.ndarray:
    f1, support = _f1_per_class(cms, k)
    return (f1 * support).sum(axis=1) / np.maximum(support.sum(axis=1), 1)


def _mcc(cms: np.ndarray, k: int) -> np.ndarray:
    """Gorodkin's multiclass MCC (what sklearn computes), 0 where it is undefined."""
    s = cms.sum(axis=(1, 2)).astype(float)
    c = np.trace(cms, axis1=1, axis2=2).astype(float)
    p, t = cms.sum(axis=1).astype(float), cms.sum(axis=2).astype(float)
    cov = c * s - (p * t).sum(axis=1)
    denom = np.sqrt((s**2 - (p**2).sum(axis=1)) * (s**2 - (t**2).sum(axis=1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, cov / denom, 0.0)


def mcnemar_p(correct_a, correct_b) -> float:
    """Exact McNemar test on paired predictions of the same examples: two-sided p-value that A and B are
    equally often right, from the examples exactly one of them gets right (binomial, p = 1/2)."""

    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired predictions differ in length: {a.shape} vs {b.shape}")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    n = only_a + only_b
    if n == 0:
        return 1.0
    return float(min(1.0, 2 * binom.cdf(min(only_a, only_b), n, 0.5)))
