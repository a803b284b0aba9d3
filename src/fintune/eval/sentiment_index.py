"""Sentiment transfer: does the tone of the posts, as a finished sentiment run reads it, call the move?

Every post is scored once by the sentiment run (e.g. the FPB quickstart): s = p(positive) - p(negative).
An example's index is the mean s of its asset's posts in the window [entry - window, entry), all of them
published before the position is taken. Two cut points, fitted on the training split so that the index
predicts each label as often as it occurs there (higher index -> 'up'), turn the index into labels; the test
split is scored with them as it is scored for the run and the baselines. Beside the labels, the rank
correlation (information coefficient) of the index with the forward return shows whether there is any
signal at all, whatever the cut points.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from rich.progress import Progress
from scipy.stats import spearmanr

from fintune.errors import FintuneError
from fintune.eval.metrics import classification_metrics, entry_days
from fintune.inference.predictor import Predictor, check_finished_run
from fintune.report.plots import sentiment_index_plot


def check_sentiment_run(run_dir: Path) -> None:
    """Before any training: the run exists, is finished and tells positive from negative."""

    check_finished_run(run_dir)
    labels = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["data"]["labels"]
    if not {"positive", "negative"} <= set(labels):
        raise FintuneError(
            f"eval.sentiment_run '{run_dir}' has labels {labels}; a sentiment index needs 'positive' and 'negative'"
        )


def score_posts(posts: pd.DataFrame, run_dir: Path, chunk: int = 1024) -> pd.Series:
    """s = p(positive) - p(negative) of each post, by the sentiment run in `run_dir`."""

    predictor = Predictor.load(run_dir)
    pos, neg = predictor.labels.index("positive"), predictor.labels.index("negative")
    texts = list(posts["text"])
    scores = np.empty(len(texts))
    with Progress(transient=True) as progress:
        task = progress.add_task(f"scoring {len(texts):,} posts with {Path(run_dir).name}", total=len(texts))
        for start in range(0, len(texts), chunk):
            probs = predictor.predict_proba(texts[start : start + chunk])
            scores[start : start + chunk] = probs[:, pos] - probs[:, neg]
            progress.advance(task, len(probs))
    return pd.Series(scores, index=posts.index, name="sentiment")


def index_at_entries(scored: pd.DataFrame, examples: pd.DataFrame, window: pd.Timedelta) -> pd.DataFrame:
    """Mean sentiment and post count of each example's asset in [entry_time - window, entry_time).

    `scored` has timestamp, asset, sentiment; `examples` asset and entry_time. Posts at the entry time itself
    are left out: the position is taken at that bar's open.
    """
    mean = np.full(len(examples), np.nan)
    count = np.zeros(len(examples), dtype=int)
    for asset, posts in scored.groupby("asset"):
        posts = posts.sort_values("timestamp")
        times = _ns(posts["timestamp"])
        cumulative = np.concatenate([[0.0], np.cumsum(posts["sentiment"].to_numpy())])
        rows = np.flatnonzero((examples["asset"] == asset).to_numpy())
        entries = _ns(examples["entry_time"].iloc[rows])
        lo = np.searchsorted(times, entries - window.to_timedelta64(), side="left")
        hi = np.searchsorted(times, entries, side="left")
        n = hi - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[rows] = np.where(n > 0, (cumulative[hi] - cumulative[lo]) / n, np.nan)
        count[rows] = n
    return pd.DataFrame({"sentiment_index": mean, "n_posts": count}, index=examples.index)


def fit_cut_points(index: pd.Series, labels: pd.Series) -> tuple[float, float]:
    """(low, high): below low -> 'down', at or above high -> 'up', between -> 'flat'.

    Chosen so that on the training split the index calls each direction as often as it happens.
    """
    known = index.notna()
    if not known.any():
        raise FintuneError("no training example has posts in its sentiment window; widen eval.sentiment_window")
    values, freq = index[known], labels.value_counts(normalize=True)
    p_down, p_up = float(freq.get("down", 0.0)), float(freq.get("up", 0.0))
    low = float(np.quantile(values, p_down)) if p_down > 0 else -np.inf
    high = float(np.quantile(values, 1.0 - p_up)) if p_up > 0 else np.inf
    return low, max(low, high)


def to_labels(index: pd.Series, cuts: tuple[float, float], fallback: str) -> list[str]:
    low, high = cuts
    out = np.where(index >= high, "up", np.where(index < low, "down", "flat"))
    return list(np.where(index.isna(), fallback, out))


def information_coefficient(index: pd.Series, forward_return: pd.Series, keys: pd.DataFrame | None = None) -> dict:
    """Spearman rank correlation of the index with the forward return, with its two-sided p-value.

    With `keys` (asset, entry_time), examples that enter together count once: they share both the index and
    the forward return, and counting each post would claim a significance the days do not have.
    """

    if keys is not None:
        first = ~keys.duplicated()
        index, forward_return = index[first], forward_return[first]
    known = index.notna() & forward_return.notna()
    if known.sum() < 3 or index[known].nunique() < 2:
        return {"ic": None, "p_value": None, "n": int(known.sum())}
    rho, p = spearmanr(index[known], forward_return[known])
    return {"ic": round(float(rho), 4), "p_value": round(float(p), 4), "n": int(known.sum())}


def daily_index(scored: pd.DataFrame) -> pd.DataFrame:
    """asset, date (UTC), n_posts, sentiment: the daily mean, for sentiment_index.csv and its plot."""
    day = scored["timestamp"].dt.floor("1D")
    grouped = scored.assign(date=day).groupby(["asset", "date"], sort=True)["sentiment"]
    return grouped.agg(n_posts="size", sentiment="mean").reset_index()


def evaluate_sentiment_index(
    posts: pd.DataFrame,
    train: pd.DataFrame,
    test: pd.DataFrame,
    labels: list[str],
    run_dir: Path,
    window: pd.Timedelta,
) -> tuple[dict, pd.DataFrame]:
    """(the metrics block, the daily index). Train fits the cut points; test is only scored."""
    scored = posts[["timestamp", "asset"]].assign(sentiment=score_posts(posts, run_dir))
    at_train = index_at_entries(scored, train, window)["sentiment_index"]
    at_test = index_at_entries(scored, test, window)
    cuts = fit_cut_points(at_train, train["label"])
    fallback = train["label"].value_counts().idxmax()
    preds = to_labels(at_test["sentiment_index"], cuts, fallback)
    block = {
        **classification_metrics(list(test["label"]), preds, labels, entry_days(test)),
        "sentiment_run": str(run_dir),
        "window": str(window),
        "cut_points": [round(c, 6) if np.isfinite(c) else None for c in cuts],
        "n_posts_scored": int(len(scored)),
        "n_without_posts": int(at_test["sentiment_index"].isna().sum()),
        # one value per (asset, entry): the posts entering together share the index and the move
        "ic_train": information_coefficient(at_train, train["forward_return"], train[["asset", "entry_time"]]),
        "ic_test": information_coefficient(
            at_test["sentiment_index"], test["forward_return"], test[["asset", "entry_time"]]
        ),
    }
    return block, daily_index(scored)


def _ns(times: pd.Series) -> np.ndarray:
    """UTC timestamps as datetime64[ns], so posts and bars compare whatever unit each was read with."""
    return times.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").to_numpy()


def sentiment_index_for_run(cfg, splits, out_dir: Path) -> dict:
    """The `sentiment_index` block of a trend run; writes sentiment_index.csv and plots/sentiment_index.png."""

    trend = cfg.data.trend
    window = pd.Timedelta(cfg.eval.sentiment_window or (trend.per_period if trend else None) or "1D")
    block, daily = evaluate_sentiment_index(
        splits.posts, splits.train, splits.test, splits.labels, Path(cfg.eval.sentiment_run), window
    )
    daily.to_csv(out_dir / "sentiment_index.csv", index=False)
    boundaries = {"validation": trend.validation_start, "test": trend.test_start}
    sentiment_index_plot(
        daily, splits.prices, boundaries, out_dir / "plots" / "sentiment_index.png", f"{cfg.name}: sentiment index"
    )
    return block
