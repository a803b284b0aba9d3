"""Score a classifier on one split: probabilities -> predictions -> metrics (+ validation loss)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fintune.eval.metrics import classification_metrics, log_loss
from fintune.models.inference import predict_proba


def evaluate_split(model, tokenizer, frame: pd.DataFrame, labels: list[str], batch_size: int, max_length: int):
    """(metrics with `loss`, probabilities) for the rows of `frame`."""
    probs = predict_proba(model, tokenizer, list(frame["text"]), batch_size, max_length)
    preds = [labels[i] for i in probs.argmax(axis=1)]
    metrics = classification_metrics(list(frame["label"]), preds, labels)
    y_index = np.array([labels.index(label) for label in frame["label"]])
    metrics["loss"] = log_loss(probs, y_index)
    return metrics, probs


def predictions_frame(frame: pd.DataFrame, probs: np.ndarray, labels: list[str]) -> pd.DataFrame:
    out = frame[["id", "text", "label"]].copy()
    out["pred_label"] = [labels[i] for i in probs.argmax(axis=1)]
    for j, label in enumerate(labels):
        out[f"prob_{label}"] = np.round(probs[:, j], 6)
    return out
