"""Turn a source's (train pool, test) into leakage-checked train / validation / test splits."""

from __future__ import annotations

import math
import re

import pandas as pd
from sklearn.model_selection import train_test_split

from fintune.config import DataConfig
from fintune.errors import FintuneError

MIN_ROWS = 10


def normalise(text: str) -> str:
    """Key for near-exact duplicates: case, punctuation and spacing differences do not make a new text."""
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


def _stratify(frame: pd.DataFrame):
    counts = frame["label"].value_counts()
    return frame["label"] if len(counts) > 1 and counts.min() >= 2 else None


def _carve(pool: pd.DataFrame, fraction: float, key: str, cfg: DataConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rest, carved): `fraction` of the rows, every label in the same share where each has two rows or more."""
    stratify = _stratify(pool)
    n_labels = pool["label"].nunique()
    carved = math.ceil(fraction * len(pool))
    if stratify is not None and (carved < n_labels or len(pool) - carved < n_labels):
        raise FintuneError(
            f"data source '{cfg.source}': {key}={fraction} of {len(pool)} rows is {carved} row(s), too few to hold "
            f"each of the {n_labels} labels; add rows (a few per label at least) or change {key}"
        )
    return train_test_split(pool, test_size=fraction, random_state=cfg.split_seed, stratify=stratify)


def make_splits(pool: pd.DataFrame, test: pd.DataFrame | None, cfg: DataConfig):
    """Carve test (if the source has none) and validation; drop train/validation texts found in test.

    The test set stays exactly as published so numbers remain comparable; the training side
    loses its copies of test texts, and the counts go into metrics.json.
    """
    stats: dict[str, int] = {}
    needed = MIN_ROWS if test is None else MIN_ROWS // 2
    if len(pool) < needed:
        raise FintuneError(
            f"data source '{cfg.source}' has {len(pool)} labelled rows; at least {needed} are needed "
            f"to carve {'validation and test' if test is None else 'validation'} splits"
        )
    if test is None:
        pool, test = _carve(pool, cfg.test_fraction, "data.test_fraction", cfg)
    train, validation = _carve(pool, cfg.validation_fraction, "data.validation_fraction", cfg)
    test_keys = set(test["text"].map(normalise))
    validation, stats["dropped_validation_in_test"] = drop_keys(validation, test_keys)
    train, stats["dropped_train_in_test"] = drop_keys(train, test_keys)
    train, stats["dropped_train_in_validation"] = drop_keys(train, set(validation["text"].map(normalise)))
    if cfg.max_train_samples is not None:
        train = train.iloc[: cfg.max_train_samples]
    validation = eval_subset(validation, cfg)
    test = eval_subset(test, cfg)
    stats.update(n_train=len(train), n_validation=len(validation), n_test=len(test))
    return train.reset_index(drop=True), validation.reset_index(drop=True), test.reset_index(drop=True), stats


def eval_subset(frame: pd.DataFrame, cfg: DataConfig) -> pd.DataFrame:
    """`data.max_eval_samples` rows drawn with split_seed, in their order: a published test file can be sorted
    (TFNS's first 40 rows share one label), so its first N rows would not stand for it."""
    if cfg.max_eval_samples is None or len(frame) <= cfg.max_eval_samples:
        return frame
    return frame.sample(n=cfg.max_eval_samples, random_state=cfg.split_seed).sort_index()


def drop_keys(frame: pd.DataFrame, keys: set[str]) -> tuple[pd.DataFrame, int]:
    hit = frame["text"].map(normalise).isin(keys)
    return frame[~hit], int(hit.sum())
