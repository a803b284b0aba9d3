"""Baselines fitted on the same training split and scored on the same test split as the run.

A 0.80 accuracy is only news if the majority class gets 0.59 and bag-of-words gets 0.78.
"""

from __future__ import annotations

import pandas as pd

from fintune.eval.metrics import classification_metrics


def majority(train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, labels: list[str]) -> dict:
    """Always predict the most frequent training label."""
    top = train["label"].value_counts().idxmax()
    return classification_metrics(list(test["label"]), [top] * len(test), labels)


def tfidf_lr(train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, labels: list[str]) -> dict:
    """Word 1-2-gram TF-IDF + logistic regression, its C chosen on validation (weighted F1), never on test.

    A baseline with an untuned C would understate what bag-of-words can do and flatter the run.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline

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
    return {**classification_metrics(list(test["label"]), list(preds), labels), "C": best_c}


C_GRID = (0.1, 1.0, 10.0, 100.0)
BASELINES = {"majority": majority, "tfidf_lr": tfidf_lr}


def run_baselines(
    names: list[str], train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, labels: list[str]
) -> dict:
    return {name: BASELINES[name](train, validation, test, labels) for name in names}
