"""Dataset names -> loaders. `load_splits(cfg)` is the single way a run gets its data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fintune.config import DataConfig
from fintune.data import sentiment
from fintune.data.dataset import LabeledSplits
from fintune.data.files import load_file
from fintune.data.signal import Teacher, load_signal_splits
from fintune.data.splits import make_splits
from fintune.data.stocknet import load_stocknet_splits
from fintune.data.trend import load_trend_splits
from fintune.data.union import union_splits
from fintune.errors import FintuneError


@dataclass(frozen=True)
class Source:
    loader: Callable
    labels: list[str]
    description: str


SOURCES: dict[str, Source] = {
    "fpb": Source(sentiment.load_fpb, sentiment.SENTIMENT, "Financial PhraseBank, >=50% annotator agreement"),
    "fpb-66agree": Source(sentiment.load_fpb, sentiment.SENTIMENT, "Financial PhraseBank, >=66% agreement"),
    "fpb-75agree": Source(sentiment.load_fpb, sentiment.SENTIMENT, "Financial PhraseBank, >=75% agreement"),
    "fpb-allagree": Source(sentiment.load_fpb, sentiment.SENTIMENT, "Financial PhraseBank, 100% agreement"),
    "tfns": Source(sentiment.load_tfns, sentiment.SENTIMENT, "Twitter Financial News Sentiment (test = valid)"),
    "fiqa-sa": Source(sentiment.load_fiqa, sentiment.SENTIMENT, "FiQA-2018 task 1, score thresholds +-0.1"),
    "nwgi": Source(sentiment.load_nwgi, sentiment.SENTIMENT, "News With GPT Instructions, 7 levels -> 3"),
    "semeval17-headlines": Source(
        sentiment.load_semeval_headlines, sentiment.SENTIMENT, "SemEval-2017 task 5 headlines, +-0.1"
    ),
}


TREND = "trend"
"""Posts labelled by the later price move; configured under data.trend (see data/trend.py)."""
STOCKNET = "stocknet-acl18"
"""StockNet's tweets -> next-day movement task with its published protocol (see data/stocknet.py)."""
SIGNAL = "signal"
"""Dated news -> investment signal or not; configured under data.signal (see data/signal.py)."""


def list_sources() -> dict[str, str]:
    return {
        **{name: s.description for name, s in SOURCES.items()},
        TREND: "posts -> later price move (configured under data.trend)",
        STOCKNET: "StockNet ACL18: 5 days of tweets -> next-day up/down, published split",
        SIGNAL: "dated news -> investment signal or none (configured under data.signal)",
        "windows": "past N days of OHLCV -> next M days, forecasting (configured under data.windows)",
    }


def looks_like_path(source: str) -> bool:
    return "/" in source or Path(source).suffix.lower() in (".csv", ".tsv", ".jsonl", ".json", ".gz")


def load_splits(cfg: DataConfig, teacher: Teacher | None = None) -> LabeledSplits:
    """The labelled splits of `cfg.source`; `teacher` loads the run that labels `data.signal.label: teacher:<run>`."""
    if isinstance(cfg.source, list):  # several datasets, one training set (data/union.py)
        one = {"max_train_samples": None, "max_eval_samples": None}
        return union_splits(cfg, lambda name: load_splits(cfg.model_copy(update={"source": name, **one})))
    if cfg.source == TREND:
        return load_trend_splits(cfg)
    if cfg.source == SIGNAL:
        return load_signal_splits(cfg, teacher)
    if cfg.source == STOCKNET:
        return load_stocknet_splits(cfg)
    if cfg.source in SOURCES:
        src = SOURCES[cfg.source]
        pool, test, files = src.loader(cfg.source)
        labels = src.labels
    elif looks_like_path(cfg.source):
        pool, labels = load_file(Path(cfg.source), cfg, cfg.labels)
        files = [Path(cfg.source)]
        test = None
        if cfg.test_source:
            test, _ = load_file(Path(cfg.test_source), cfg, labels)
            files.append(Path(cfg.test_source))
    else:
        known = ", ".join([*SOURCES, TREND, STOCKNET, SIGNAL])
        raise FintuneError(f"unknown dataset '{cfg.source}' in data.source (known: {known}; or a .csv/.jsonl path)")
    if cfg.test_source and cfg.source in SOURCES:
        raise FintuneError("data.test_source only applies when data.source is a file path")
    train, validation, test, stats = make_splits(pool, test, cfg)
    return LabeledSplits(cfg.source, list(labels), train, validation, test, files, stats)


def load_eval_set(source: str, labels: list[str], cfg: DataConfig, teacher: Teacher | None = None):
    """The test split of another source (or a whole file) for `fintune eval` of a finished run."""
    if looks_like_path(source) and source not in SOURCES:
        path = Path(source)
        frame, _ = load_file(path, cfg, labels)
        return frame, [path]
    other = cfg.model_copy(update={"source": source, "test_source": None, "max_train_samples": None})
    splits = load_splits(other, teacher)
    if splits.labels != labels and set(splits.test["label"]) - set(labels):
        raise FintuneError(f"dataset '{source}' has labels {splits.labels}, the run was trained on {labels}")
    return splits.test, splits.files
