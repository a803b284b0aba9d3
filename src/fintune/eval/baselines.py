"""Baselines fitted on the same training split and scored on the same test split as the run.

A 0.80 accuracy is only news if the majority class gets 0.59 and bag-of-words gets 0.78.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline

from fintune.errors import FintuneError
from fintune.eval.metrics import classification_metrics, entry_days


def majority(train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, labels: list[str]) -> dict:
    """Always predict the most frequent training label (named in the block: on another dataset it is not that
    dataset's own majority)."""
    top = train["label"].value_counts().idxmax()
    return {**classification_metrics(list(test["label"]), [top] * len(test), labels, entry_days(test)), "class": top}


def tfidf_lr(train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, labels: list[str]) -> dict:
    """Word 1-2-gram TF-IDF + logistic regression, its C chosen on validation (weighted F1), never on test.

    A baseline with an untuned C would understate what bag-of-words can do and flatter the run.
    """

    def fit(c: float):
        model = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(C=c, max_iter=2000),
        )
        return model.fit(list(train["text"]), list(train["label"]))

    def val_score(model) -> float:
        return f1_score(list(validation["label"]), model.predict(list(validation["text"])), average="weighted")

    best_c = max(C_GRID, key=lambda c: val_score(fit(c)))
    preds = fit(best_c).predict(list(test["text"]))
    return {**classification_metrics(list(test["label"]), list(preds), labels, entry_days(test)), "C": best_c}


def momentum(train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, labels: list[str]) -> dict:
    """Predict that the move continues: the label of the window that ended when the position is taken."""
    if "momentum_label" not in test.columns:
        raise FintuneError("baseline 'momentum' needs a source with prices (data.source: trend)")
    known = test["momentum_label"].notna()
    # Examples too early to have a past window get the training majority, so n matches the run's.
    fallback = train["label"].value_counts().idxmax()
    preds = test["momentum_label"].where(known, fallback)
    block = classification_metrics(list(test["label"]), list(preds), labels, entry_days(test))
    return {**block, "n_without_past": int((~known).sum())}


def random_by_frequency(train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, labels: list[str]) -> dict:
    """Draw each prediction from the training label frequencies (seed 0): what chance alone scores."""
    freq = train["label"].value_counts(normalize=True).reindex(labels, fill_value=0.0)
    preds = np.random.default_rng(0).choice(labels, size=len(test), p=freq.to_numpy())
    return classification_metrics(list(test["label"]), list(preds), labels, entry_days(test))


C_GRID = (0.1, 1.0, 10.0, 100.0)
BASELINES = {"majority": majority, "tfidf_lr": tfidf_lr, "momentum": momentum, "random": random_by_frequency}


def run_baselines(
    names: list[str], train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, labels: list[str]
) -> dict:
    return {name: BASELINES[name](train, validation, test, labels) for name in names}
