"""The decision cut: chosen on validation only, by max F1 or a target precision; AUCs need no cut."""

import numpy as np
import pandas as pd
import pytest

from fintune.config import validate_config
from fintune.errors import FintuneError
from fintune.eval.threshold import at_cut, choose_threshold, decide, ranking_scores, thresholded_block

LABELS = ["none", "signal"]


def test_max_f1_cut_is_the_best_f1_on_the_given_examples():
    is_pos = np.array([0, 0, 0, 0, 1, 0, 1, 1], dtype=bool)
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7])
    cut, achieved = choose_threshold(is_pos, p, "max_f1", None)
    assert cut == 0.4 and achieved == {"precision": 0.75, "recall": 1.0}  # F1 0.857; 0.6 gives 0.8


def test_target_precision_takes_the_lowest_cut_that_reaches_it():
    is_pos = np.array([0, 0, 0, 0, 1, 0, 1, 1], dtype=bool)
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7])
    assert choose_threshold(is_pos, p, "target_precision", 1.0)[0] == 0.6
    with pytest.raises(FintuneError, match="no threshold reaches precision"):
        choose_threshold(np.array([1, 0], dtype=bool), np.array([0.1, 0.9]), "target_precision", 0.9)


def test_validation_is_scored_at_the_cut_it_chose_not_at_argmax():
    cfg = validate_config({"eval": {"threshold": "max_f1"}}, "x")
    rng = np.random.default_rng(0)
    validation = pd.DataFrame({"label": rng.choice(LABELS, 200, p=[0.9, 0.1])})
    positive = (validation["label"] == LABELS[1]).to_numpy()
    p_pos = np.clip(0.1 + 0.25 * positive + rng.normal(0, 0.08, 200), 0, 1)  # ranks well, never above 0.5
    val_probs = np.column_stack([1 - p_pos, p_pos])
    cut = decide(cfg, validation, val_probs, LABELS)["cut"]
    at_argmax = thresholded_block(validation, val_probs, LABELS, 0.5)
    chosen = at_cut(validation, val_probs, LABELS, cut)
    assert cut < 0.5 and at_argmax["f1_macro"] < 0.5  # argmax calls nothing positive
    assert chosen["f1_macro"] > 0.8 and chosen["pr_auc"] > 0.8


def test_ranking_scores_are_undefined_without_both_classes():
    assert ranking_scores(np.array([True, False]), np.array([0.9, 0.1])) == {"pr_auc": 1.0, "roc_auc": 1.0}
    assert ranking_scores(np.array([False, False]), np.array([0.9, 0.1]))["pr_auc"] is None
