import numpy as np
import pandas as pd
import pytest

from fintune.eval.baselines import majority, tfidf_lr
from fintune.eval.metrics import classification_metrics, log_loss

LABELS = ["negative", "neutral", "positive"]


def test_metrics_match_hand_computed_values():
    y_true = ["positive", "positive", "neutral", "negative"]
    y_pred = ["positive", "neutral", "neutral", "positive"]
    m = classification_metrics(y_true, y_pred, LABELS)
    assert m["accuracy"] == 0.5
    assert m["confusion_matrix"] == [[0, 0, 1], [0, 1, 0], [0, 1, 1]]  # rows true, columns predicted
    assert m["per_class"]["neutral"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert m["f1_macro"] == pytest.approx((0 + 2 / 3 + 0.5) / 3)
    assert m["f1_micro"] == 0.5 and m["n"] == 4
    assert -1 <= m["mcc"] <= 1


def test_majority_baseline_has_zero_mcc_and_log_loss_is_cross_entropy():
    train = pd.DataFrame({"text": ["a"] * 3, "label": ["neutral", "neutral", "positive"]})
    test = pd.DataFrame({"text": ["b", "c"], "label": ["neutral", "positive"]})
    m = majority(train, train, test, LABELS)
    assert m["accuracy"] == 0.5 and m["mcc"] == 0.0
    probs = np.array([[0.25, 0.5, 0.25], [0.1, 0.1, 0.8]])
    assert log_loss(probs, np.array([1, 2])) == pytest.approx(-(np.log(0.5) + np.log(0.8)) / 2)


def test_tfidf_baseline_learns_words():
    words = {"negative": "loss fell", "neutral": "meeting held", "positive": "profit rose"}
    train = pd.DataFrame([(f"{w} {i}", lab) for i in range(10) for lab, w in words.items()], columns=["text", "label"])
    test = pd.DataFrame([(w, lab) for lab, w in words.items()], columns=["text", "label"])
    assert tfidf_lr(train, train, test, LABELS)["accuracy"] == 1.0
