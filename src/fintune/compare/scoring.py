"""What a leaderboard ranks for each task: its test metrics (and which are better lower), the validation metric that
chooses, the baseline row, and the paired significance test of two runs on the same test examples."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from fintune.errors import FintuneError
from fintune.eval.significance import mcnemar_p


@dataclass(frozen=True)
class Scoring:
    metrics: tuple[str, ...]
    """Test metrics in the table, the first one drawn as bars."""
    lower_better: frozenset[str]
    """Metrics (test or validation) where less is better; the rest rank higher first."""
    default_select: str
    """The validation metric that chooses when the sweep file names none."""
    baseline: str
    """The baseline shown as a row (from the first run's metrics.json)."""
    paired_test: str
    """How `p vs best` is computed, for the table notes."""
    paired_p: Callable[[str, str], float | None]
    """(run dir, run dir) -> two-sided p-value on the test examples both runs predicted."""
    selectable: tuple[str, ...] = ("loss",)
    """Validation metrics a sweep may choose by (`select.metric`)."""
    headline: str = "f1_weighted"
    """The test metric of the verdict against the baselines when the selection metric is not a test metric."""
    plots_confusion: bool = True

    def better_first(self, metric: str) -> bool:
        """Sort descending (True) or ascending."""
        return metric not in self.lower_better


def _correct(run_dir: str) -> pd.Series:
    predictions = pd.read_csv(Path(run_dir) / "predictions.csv", dtype={"id": str})
    return pd.Series((predictions["label"] == predictions["pred_label"]).to_numpy(), index=predictions["id"])


def mcnemar_of_runs(a: str, b: str) -> float | None:
    """Exact McNemar test of two classification runs' right/wrong on the test examples both have."""
    right_a, right_b = _correct(a), _correct(b)
    common = right_a.index.intersection(right_b.index)
    return mcnemar_p(right_a[common].to_numpy(), right_b[common].to_numpy()) if len(common) else None


def _abs_errors(run_dir: str) -> pd.Series:
    days = pd.read_csv(Path(run_dir) / "predictions.csv", dtype={"id": str})
    errors = (days["pred_close_model"] - days["actual_close"]).abs()
    return pd.Series(errors.to_numpy(), index=days["id"] + "@" + days["h"].astype(str)).dropna()


def wilcoxon_of_runs(a: str, b: str) -> float | None:
    """Wilcoxon signed-rank test of two forecasting runs' absolute close errors on the days both parsed."""
    err_a, err_b = _abs_errors(a), _abs_errors(b)
    common = err_a.index.intersection(err_b.index)
    diff = err_a[common].to_numpy() - err_b[common].to_numpy()
    if not np.any(diff):  # identical forecasts (or none in common): nothing to test
        return None if not len(common) else 1.0
    return float(wilcoxon(err_a[common].to_numpy(), err_b[common].to_numpy()).pvalue)


CLASSIFICATION = Scoring(
    metrics=("accuracy", "f1_macro", "f1_weighted", "mcc"),
    lower_better=frozenset({"loss"}),
    default_select="f1_weighted",
    baseline="majority",
    paired_test="exact McNemar test",
    paired_p=mcnemar_of_runs,
    selectable=(
        *("accuracy", "f1_macro", "f1_micro", "f1_weighted", "mcc", "precision_macro", "recall_macro", "loss"),
        *("pr_auc", "roc_auc"),  # binary runs (signal detection) only
    ),
)
FORECASTING = Scoring(
    metrics=("mae", "rmse", "mape", "directional_accuracy", "mase"),
    lower_better=frozenset({"mae", "rmse", "mape", "mase", "loss"}),
    default_select="loss",
    baseline="naive_last",
    paired_test="Wilcoxon signed-rank test of absolute close errors",
    paired_p=wilcoxon_of_runs,
    headline="mase",
    plots_confusion=False,
)
SCORINGS = {"classify": CLASSIFICATION, "trend": CLASSIFICATION, "signal": CLASSIFICATION, "forecast": FORECASTING}


def scoring_for(tasks: set[str]) -> Scoring:
    """The scoring of a sweep's runs, which must all do one task."""
    if len(tasks) != 1:
        raise FintuneError(f"a sweep compares runs of one task; its runs do {sorted(tasks)}")
    return SCORINGS[next(iter(tasks))]
