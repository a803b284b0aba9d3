"""Baselines fitted on the same training split and scored on the same test split as the run.

A 0.80 accuracy is only news if the majority class gets 0.59 and bag-of-words gets 0.78.
"""

from __future__ import annotations

import pandas as pd

from fintune.eval.metrics import classification_metrics


def majority(train: pd.DataFrame, test: pd.DataFrame, labels: list[str]) -> dict:
    """Always predict the most frequent training label."""
    top = train["label"].value_counts().idxmax()
    return classification_metrics(list(test["label"]), [top] * len(test), labels)


def tfidf_lr(train: pd.DataFrame, test: pd.DataFrame, labels: list[str], seed: int = 42) -> dict:
    """Word 1-2-gram TF-IDF + logistic regression: the classic strong linear text baseline."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
        LogisticRegression(max_iter=2000, random_state=seed),  # sklearn defaults: nothing tuned on test
    )
    model.fit(list(train["text"]), list(train["label"]))
    return classification_metrics(list(test["label"]), list(model.predict(list(test["text"]))), labels)


BASELINES = {"majority": majority, "tfidf_lr": tfidf_lr}


def run_baselines(names: list[str], train: pd.DataFrame, test: pd.DataFrame, labels: list[str]) -> dict:
    return {name: BASELINES[name](train, test, labels) for name in names}
