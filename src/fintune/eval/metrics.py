"""Classification metrics in the run-directory contract's shape (DESIGN.md)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
)

from fintune.eval.significance import bootstrap_ci


def classification_metrics(y_true: list[str], y_pred: list[str], labels: list[str], groups=None) -> dict:
    """accuracy, F1 (macro/micro/weighted), MCC, macro P/R, per-class P/R/F1, confusion matrix, n,
    and bootstrap 95 % intervals of accuracy, macro / weighted F1 and MCC (`ci95`; resampling whole `groups` if given,
    e.g. `entry_days`, and then `ci95_resamples` says so)."""
    kw = {"labels": labels, "zero_division": 0}
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, **kw)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", **kw)),
        "f1_micro": float(f1_score(y_true, y_pred, average="micro", **kw)),
        "f1_weighted": float(f1_score(y_true, y_pred, average="weighted", **kw)),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
        "precision_macro": float(np.mean(p)),
        "recall_macro": float(np.mean(r)),
        "per_class": {
            label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
            for i, label in enumerate(labels)
        },
        "labels": list(labels),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "n": len(y_true),
        "ci95": bootstrap_ci(y_true, y_pred, labels, groups=groups),
        **({"ci95_resamples": "entry days"} if groups is not None else {}),
    }


def entry_days(frame) -> np.ndarray | None:
    """The UTC day each example trades (trend sources), the unit the bootstrap resamples; None otherwise."""
    if "entry_time" not in frame.columns:
        return None
    return frame["entry_time"].dt.floor("1D").to_numpy()


def log_loss(probs: np.ndarray, y_index: np.ndarray) -> float:
    """Mean cross-entropy of the true class; the validation loss that can select the best epoch."""
    picked = probs[np.arange(len(y_index)), y_index]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))
