"""Binary decisions on rare positives: the probability cut chosen on validation, and threshold-free AUCs.

With 3 % positives, argmax (a 0.5 cut) can call nothing positive and still score 97 % accuracy. The cut is
chosen on the validation split (the best F1 of the positive class, or the lowest cut reaching a target
precision) and then applied unchanged to test. PR-AUC (average precision) and ROC-AUC need no cut at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from fintune.errors import FintuneError
from fintune.eval.metrics import classification_metrics, entry_days


def choose_threshold(is_positive: np.ndarray, p_positive: np.ndarray, rule: str, target_precision: float | None):
    """(cut, what it achieved on these examples): predict positive when p >= cut."""

    if not is_positive.any():
        raise FintuneError("the validation split has no positive example; no decision threshold can be chosen")
    precision, recall, cuts = precision_recall_curve(is_positive, p_positive)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no cut
    if rule == "max_f1":
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        best = int(np.argmax(f1))
    else:  # target precision: the lowest cut that reaches it keeps the most recall
        reached = np.flatnonzero(precision >= target_precision)
        if not len(reached):
            raise FintuneError(f"no threshold reaches precision {target_precision} on validation; lower it")
        best = int(reached[0])
    return float(cuts[best]), {"precision": float(precision[best]), "recall": float(recall[best])}


def ranking_scores(is_positive: np.ndarray, p_positive: np.ndarray) -> dict:

    if is_positive.all() or not is_positive.any():
        return {"pr_auc": None, "roc_auc": None}
    return {
        "pr_auc": float(average_precision_score(is_positive, p_positive)),
        "roc_auc": float(roc_auc_score(is_positive, p_positive)),
    }


def thresholded_block(frame: pd.DataFrame, probs: np.ndarray, labels: list[str], cut: float) -> dict:
    """The test block with the validation-chosen cut on p(labels[1])."""
    preds = np.where(probs[:, 1] >= cut, labels[1], labels[0])
    return classification_metrics(list(frame["label"]), list(preds), labels, entry_days(frame))


def decide(cfg, validation: pd.DataFrame, val_probs: np.ndarray, labels: list[str]) -> dict:
    """How the cut on p(labels[1]) was chosen on validation: {'rule', 'cut', 'chosen_on', 'validation'}."""
    cut, achieved = choose_threshold(
        (validation["label"] == labels[1]).to_numpy(), val_probs[:, 1], cfg.eval.threshold, cfg.eval.target_precision
    )
    # unrounded: predictions.csv applies this very cut, and a rounded one can flip probabilities next to it
    return {"rule": cfg.eval.threshold, "cut": cut, "chosen_on": "validation", "validation": achieved}


def at_cut(frame: pd.DataFrame, probs: np.ndarray, labels: list[str], cut: float) -> dict:
    """A split's block at the chosen cut, with the threshold-free ranking scores beside it."""
    block = thresholded_block(frame, probs, labels, cut)
    block.update(ranking_scores((frame["label"] == labels[1]).to_numpy(), probs[:, 1]))
    return block
