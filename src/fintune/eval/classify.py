"""Score a classifier on one split: probabilities -> predictions -> metrics (+ validation loss)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from fintune.eval.metrics import classification_metrics, entry_days, log_loss


def evaluate_split(probs_of: Callable[[list[str]], np.ndarray], frame: pd.DataFrame, labels: list[str]):
    """(metrics with `loss`, probabilities) for the rows of `frame`; `probs_of` maps texts to probabilities."""
    probs = probs_of(list(frame["text"]))
    return scored_split(frame, probs, labels), probs


def scored_split(frame: pd.DataFrame, probs: np.ndarray, labels: list[str]) -> dict:
    """Metrics with `loss` of probabilities already predicted for the rows of `frame`."""
    preds = [labels[i] for i in probs.argmax(axis=1)]
    metrics = classification_metrics(list(frame["label"]), preds, labels, entry_days(frame))
    y_index = np.array([labels.index(label) for label in frame["label"]])
    metrics["loss"] = log_loss(probs, y_index)
    return metrics


def predictions_frame(frame: pd.DataFrame, probs: np.ndarray, labels: list[str], cut: float | None = None):
    """The contract's columns; with a binary `cut` the prediction is labels[1] when its probability >= cut."""
    out = frame[["id", "text", "label"]].copy()
    if cut is None:
        out["pred_label"] = [labels[i] for i in probs.argmax(axis=1)]
    else:
        out["pred_label"] = np.where(probs[:, 1] >= cut, labels[1], labels[0])
    for j, label in enumerate(labels):
        out[f"prob_{label}"] = np.round(probs[:, j], 6)
    # Sources with time and asset (trend runs) keep them after the contract's columns: a price call is only
    # checkable with its date.
    # A run on several datasets keeps each row's dataset.
    for column in ("dataset", "timestamp", "asset", "entry_time", "exit_time", "forward_return"):
        if column in frame.columns:
            out[column] = frame[column].to_numpy()
    return out
