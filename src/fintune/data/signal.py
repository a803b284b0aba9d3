"""`data.source: signal`: dated news labelled 'signal' (significant, lasting news) or 'none', split by time.

Three label definitions, each with its leakage rule:
- `human:<column>`: a 0/1 annotation shipped with the data (gold headlines: `future_information`,
  `price_direction_up`, ...). Labels use no prices; splits are by publication day.
- `reaction`: the asset's return from the first bar opening after publication over `horizon` is beyond
  `vol_multiple` standard deviations of the returns of bars that closed before that bar (align.py). Label
  windows that reach into a later split are purged and an embargo of one horizon is kept (time_splits.py).
- `teacher:<run>`: a finished run labels every article; `teacher_signal_labels` say which of its labels are
  signals. The labels use no prices, but a teacher trained on these very articles would leak its own test
  answers: `metrics.json` records the teacher so a reader can check.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from fintune.config import DataConfig, SignalConfig
from fintune.data.align import Band, label_posts
from fintune.data.dataset import LabeledSplits
from fintune.data.live_prices import fetched_prices
from fintune.data.locate import locate
from fintune.data.prices import load_prices, price_file
from fintune.data.tables import read_table, require_columns
from fintune.data.time_splits import limit_samples, split_by_time
from fintune.errors import FintuneError

SIGNAL_LABELS = ["none", "signal"]


class LabelModel(Protocol):
    """What a teacher must offer: its label names and texts -> probabilities in that order."""

    labels: list[str]

    def predict_proba(self, texts: list[str]) -> np.ndarray: ...


Teacher = Callable[[Path], LabelModel]
"""Loads a finished run as a labeller (inference's `Predictor.load`). Passed in by the caller because the data layer
sits below inference and must not import it."""


def load_signal_splits(cfg: DataConfig, teacher: Teacher | None = None) -> LabeledSplits:
    spec = cfg.signal or SignalConfig()
    news, files = load_articles(spec.news)
    kind, _, arg = spec.label.partition(":")
    fallback = None
    if kind == "human":
        labelled, embargo = human_labels(news, arg, spec.news), pd.Timedelta(0)
    elif kind == "reaction":
        labelled, path, fallback = reaction_labels(news, spec)
        embargo = pd.Timedelta(spec.horizon)
        files.append(path)
    else:
        labelled, embargo = teacher_labels(news, Path(arg), spec.teacher_signal_labels, teacher), pd.Timedelta(0)
    day = lambda d: pd.Timestamp(d, tz="UTC")  # noqa: E731
    train, validation, test, stats = split_by_time(
        labelled,
        day(spec.validation_start),
        day(spec.test_start),
        embargo,
        day(spec.test_end) if spec.test_end else None,
    )
    train, validation, test = limit_samples(train, validation, test, cfg, stats)
    stats["label_definition"] = spec.label
    if fallback:
        stats["prices_fallback"] = [fallback]
    stats["n_articles"] = int(len(news))
    stats["n_dropped_undated"] = int(news.attrs.get("undated", 0))
    stats["signal_share"] = {
        name: round(float((part["label"] == "signal").mean()), 4)
        for name, part in (("train", train), ("validation", validation), ("test", test))
    }
    # No prices handed on: a signal is not a direction to trade, so there is no backtest.
    return LabeledSplits("signal", list(SIGNAL_LABELS), train, validation, test, files, stats)


def load_articles(source: str) -> tuple[pd.DataFrame, list[Path]]:
    """id, timestamp (UTC), text, plus whatever annotation columns the source has; undated rows dropped."""
    if source == "gold-headlines":
        path = locate("gold-headlines", "gold_commodity_news_headlines", "data.csv")
        raw = pd.read_csv(path)
        frame = raw.assign(timestamp=pd.to_datetime(raw["date"], utc=True), text=raw["text"].astype(str))
    elif source == "crypto-news":
        path = locate("crypto-news", "crypto_news_2021_2022", "data.csv")
        raw = pd.read_csv(path)
        text = raw["title"].fillna("") + "\n" + raw["text"].fillna("")
        frame = raw.assign(timestamp=pd.to_datetime(raw["datetime"], utc=True), text=text.str.strip())
    elif source == "reuters":
        path = locate("reuters21578", "reuters21578", "reuters21578.csv.gz")
        raw = pd.read_csv(path)
        text = raw["title"].fillna("") + "\n" + raw["body"].fillna("")
        frame = raw.assign(timestamp=pd.to_datetime(raw["date_iso"], utc=True), text=text.str.strip())
    else:
        path = Path(source)
        raw = read_table(path)
        require_columns(raw, path, {"timestamp": "timestamp", "text": "text"})
        frame = raw.assign(timestamp=pd.to_datetime(raw["timestamp"], utc=True, errors="coerce"))
    undated = frame["timestamp"].isna()
    frame = frame[~undated & (frame["text"].astype(str).str.strip() != "")]
    frame = frame.assign(id=[f"{source}-{i}" for i in frame.index]).sort_values("timestamp", kind="stable")
    frame = frame.reset_index(drop=True)
    frame.attrs["undated"] = int(undated.sum())
    return frame, [path]


def human_labels(news: pd.DataFrame, column: str, source: str) -> pd.DataFrame:
    if column not in news.columns:
        have = ", ".join(c for c in news.columns if c not in ("id", "timestamp", "text"))
        raise FintuneError(f"data.signal.label: '{source}' has no column '{column}' (has: {have})")
    values = pd.to_numeric(news[column], errors="coerce")
    bad = values.isna() | ~values.isin([0, 1])
    if bad.any():
        row = news.loc[bad[bad].index[0]]
        raise FintuneError(f"data.signal.label: {source} article {row['id']}: '{column}' is not 0 or 1")
    out = news[["id", "timestamp", "text"]].copy()
    out["label"] = np.where(values == 1, "signal", "none")
    out["exit_time"] = out["timestamp"]  # no label window: the label is the annotators', not the market's
    return out


def reaction_labels(news: pd.DataFrame, spec: SignalConfig) -> tuple[pd.DataFrame, Path, dict | None]:
    """'signal' when the move after publication is beyond vol_multiple x recent volatility (up or down); with the
    price file used and, where a live fetch fell back to a cached copy, the note saying so."""

    path, fallback = fetched_prices(spec.prices) if spec.prices else (price_file(spec.asset, "1d"), None)
    bars = load_prices(path)
    posts = news[["id", "timestamp", "text"]].assign(asset=spec.asset)
    labelled = label_posts(posts, bars, pd.Timedelta(spec.horizon), Band(None, spec.vol_multiple, spec.vol_window))
    labelled["direction"] = labelled["label"]
    labelled["label"] = np.where(labelled["label"] == "flat", "none", "signal")
    return labelled.drop(columns="momentum_label"), path, fallback


def teacher_labels(news: pd.DataFrame, run_dir: Path, signal_labels: list[str], load: Teacher | None) -> pd.DataFrame:
    if load is None:
        raise FintuneError(f"data.signal.label teacher:{run_dir} needs a model to label the articles; none was given")
    teacher = load(run_dir)
    unknown = [label for label in signal_labels if label not in teacher.labels]
    if unknown:
        raise FintuneError(
            f"data.signal.teacher_signal_labels {unknown} are not labels of '{run_dir}' ({teacher.labels})"
        )
    probs = teacher.predict_proba(list(news["text"]))
    predicted = [teacher.labels[i] for i in probs.argmax(axis=1)]
    out = news[["id", "timestamp", "text"]].copy()
    out["label"] = ["signal" if p in signal_labels else "none" for p in predicted]
    out["exit_time"] = out["timestamp"]
    return out
