"""Several datasets, one training set (`data.source: [a, b]`): no test text reaches training through another set."""

import json

import pandas as pd
import pytest
from pydantic import ValidationError

from fintune.config import DataConfig
from fintune.data import load_splits
from fintune.data.dataset import LabeledSplits
from fintune.data.splits import normalise
from fintune.data.union import union_splits
from fintune.errors import FintuneError
from tests.conftest import TINY_CSV, fintune, needs_data, one_line_error, tiny_run_overrides

LABELS = ["negative", "neutral", "positive"]


def _frame(prefix: str, texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [f"{prefix}:{i}" for i in range(len(texts))], "text": texts, "label": LABELS * (len(texts) // 3)}
    )


def _splits(name: str, train: list[str], validation: list[str], test: list[str], labels=LABELS) -> LabeledSplits:
    stats = {"dropped_train_in_test": 1, "dropped_validation_in_test": 0, "dropped_train_in_validation": 0}
    frames = [_frame(f"{name}-{split}", texts) for split, texts in (("tr", train), ("va", validation), ("te", test))]
    return LabeledSplits(name, list(labels), *frames, stats=stats)


def _parts() -> dict[str, LabeledSplits]:
    a = _splits(
        "a",
        # "Profit FELL!" is b's test text "profit fell." and "Orders doubled" b's validation text, in a's training
        ["Profit FELL!", "a train 1", "a train 2", "Orders doubled", "a train 4", "a train 5"],
        ["a val 0", "a val 1", "a val 2"],
        ["a test 0", "a test 1", "a test 2"],
    )
    b = _splits(
        "b",
        ["b train 0", "b train 1", "b train 2", "b train 3", "b train 4", "b train 5"],
        ["orders doubled.", "b val 1", "b val 2"],
        ["profit fell.", "b test 1", "b test 2"],
    )
    return {"a": a, "b": b}


def test_a_test_text_of_one_dataset_never_reaches_training_through_another():
    parts = _parts()
    union = union_splits(DataConfig(source=["a", "b"]), parts.__getitem__)
    trained = set(union.train["text"].map(normalise)) | set(union.validation["text"].map(normalise))
    assert not trained & set(union.test["text"].map(normalise))
    assert normalise("orders doubled.") not in set(union.train["text"].map(normalise)), "nor another's validation"
    assert union.stats["datasets"]["a"]["dropped_across_datasets"] == 1
    assert union.stats["dropped_across_datasets"] == 1
    assert union.stats["dropped_train_in_validation"] == 1
    assert union.stats["dropped_train_in_test"] == 1 + 1 + 1, "each dataset's own drops plus the cross-dataset one"
    # every test split stays exactly as published, tagged with its dataset
    for name, part in parts.items():
        assert list(union.test.loc[union.test["dataset"] == name, "text"]) == list(part.test["text"])
    assert union.name == "a+b" and union.labels == LABELS
    assert len(union.train) == 6 + 6 - 2 and set(union.train["dataset"]) == {"a", "b"}


def test_caps_keep_every_dataset_in_the_evaluation():
    union = union_splits(DataConfig(source=["a", "b"], max_eval_samples=2, max_train_samples=4), _parts().__getitem__)
    assert union.test["dataset"].value_counts().to_dict() == {"a": 2, "b": 2}
    assert union.validation["dataset"].value_counts().to_dict() == {"a": 2, "b": 2}
    assert len(union.train) == 4
    assert union.stats["datasets"]["a"]["n_test"] == 2


def test_label_sets_that_cannot_be_mapped_are_refused():
    parts = _parts()
    parts["b"] = _splits("b", ["x", "y", "z"], ["v", "w", "u"], ["p", "q", "r"], labels=["bearish", "bullish", "x"])
    with pytest.raises(FintuneError, match=r"dataset 'b' has labels \['bearish', 'bullish', 'x'\]"):
        union_splits(DataConfig(source=["a", "b"]), parts.__getitem__)


def test_a_list_of_one_is_that_dataset_and_task_sources_cannot_be_joined():
    assert DataConfig(source=["fpb"]).source == "fpb"
    assert DataConfig(source=["fpb", "tfns"]).source == ["fpb", "tfns"]
    for bad in (["fpb", "trend"], ["fpb", "fpb"], []):
        with pytest.raises(ValidationError, match="data.source"):
            DataConfig(source=bad)


@needs_data
def test_fingpt_union_of_the_four_sentiment_sets():
    union = load_splits(DataConfig(source=["fpb", "fiqa-sa", "tfns", "nwgi"]))
    alone = load_splits(DataConfig(source="tfns"))
    assert list(union.test.loc[union.test["dataset"] == "tfns", "text"]) == list(alone.test["text"])
    assert sum(d["n_train"] for d in union.stats["datasets"].values()) == len(union.train)
    assert not set(union.train["text"].map(normalise)) & set(union.test["text"].map(normalise))


def test_a_run_on_two_files_scores_each_on_its_own_test_split(tiny_model_dir, tmp_path):
    rows = pd.read_csv(TINY_CSV)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    rows.iloc[:45].to_csv(first, index=False)
    rows.iloc[45:].to_csv(second, index=False)
    overrides = tiny_run_overrides(tiny_model_dir, tmp_path / "runs")
    overrides = [o for o in overrides if not o.startswith("data.source=")] + [f"data.source=[{first},{second}]"]
    res = fintune("run", "configs/quickstart.yaml", *overrides)
    assert res.returncode == 0, res.stderr
    assert "each dataset's own test split" in res.stdout
    metrics = json.loads((tmp_path / "runs" / "tiny" / "metrics.json").read_text())
    blocks = metrics["evals"]
    assert list(blocks) == [f"{first}/test", f"{second}/test"]
    assert sum(b["n"] for b in blocks.values()) == metrics["test"]["n"]
    assert all(b["overlap_with_train"] == 0 and "majority" in b["baselines"] for b in blocks.values())
    assert metrics["data"]["source"] == f"{first}+{second}"
    predictions = pd.read_csv(tmp_path / "runs" / "tiny" / "predictions.csv")
    assert set(predictions["dataset"]) == {str(first), str(second)}

    missing = [o for o in overrides if not o.startswith("data.source=")] + [f"data.source=[{first},trend]"]
    res = fintune("run", "configs/quickstart.yaml", *missing)
    one_line_error(res, "data.source as a list joins labelled-text datasets; ['trend'] cannot be joined")
    assert "got {" not in res.stderr  # the rule's message, not the section echoed back
