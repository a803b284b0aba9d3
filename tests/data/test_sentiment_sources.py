"""The registered benchmarks on the shared datasets (skipped without FINTUNE_DATA_DIR)."""

import pytest

from fintune.config import DataConfig
from fintune.data import load_splits
from fintune.data.sentiment import NWGI_TO_3, score_to_label
from tests.conftest import needs_data


def test_fingpt_label_mappings():
    assert [score_to_label(s) for s in (-0.5, -0.1, 0.0, 0.0999, 0.1, 0.7)] == [
        "negative",
        "neutral",
        "neutral",
        "neutral",
        "positive",
        "positive",
    ]
    assert NWGI_TO_3["strong positive"] == NWGI_TO_3["moderately positive"] == "positive"
    assert NWGI_TO_3["mildly negative"] == NWGI_TO_3["mildly positive"] == "neutral"


@needs_data
def test_fpb_uses_the_published_split():
    splits = load_splits(DataConfig(source="fpb"))
    assert len(splits.test) == 1212
    assert (
        splits.stats["n_train"]
        + splits.stats["n_validation"]
        + splits.stats["dropped_train_in_test"]
        + splits.stats["dropped_validation_in_test"]
        + splits.stats["dropped_train_in_validation"]
        == 4846 - 1212
    )
    assert splits.stats["dropped_train_in_test"] + splits.stats["dropped_validation_in_test"] > 0


@needs_data
def test_fpb_levels_share_the_50_percent_split():
    base = load_splits(DataConfig(source="fpb"))
    strict = load_splits(DataConfig(source="fpb-allagree"))
    assert not set(strict.test["text"]) & set(base.train["text"])
    assert set(strict.test["text"]) <= set(base.test["text"])


@needs_data
@pytest.mark.parametrize(
    "name, n_test", [("tfns", 2388), ("fiqa-sa", None), ("nwgi", None), ("semeval17-headlines", 491)]
)
def test_sources_load_with_three_sentiment_labels(name, n_test):
    splits = load_splits(DataConfig(source=name))
    assert splits.labels == ["negative", "neutral", "positive"]
    for split in (splits.train, splits.validation, splits.test):
        assert set(split["label"]) <= set(splits.labels)
        assert split["text"].str.len().min() > 0
    if n_test:
        assert len(splits.test) == n_test
    assert all(len(d) == 64 for d in splits.fingerprints().values())
