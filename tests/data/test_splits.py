import pandas as pd

from fintune.config import DataConfig
from fintune.data.splits import make_splits, normalise


def _frame(texts, labels):
    return pd.DataFrame({"id": range(len(texts)), "text": texts, "label": labels})


def test_near_duplicates_of_test_texts_leave_the_training_side():
    pool = _frame([f"Sales rose {i} percent." for i in range(40)] + ["PROFIT  fell!", "profit fell"], ["a", "b"] * 21)
    test = _frame(["Profit fell."], ["b"])
    train, validation, out_test, stats = make_splits(pool, test, DataConfig(validation_fraction=0.2))
    assert normalise("PROFIT  fell!") == normalise("Profit fell.")
    everything = set(train["text"]) | set(validation["text"])
    assert not {"PROFIT  fell!", "profit fell"} & everything
    assert stats["dropped_train_in_test"] + stats["dropped_validation_in_test"] == 2
    assert list(out_test["text"]) == ["Profit fell."], "the test set stays as published"


def test_split_is_a_function_of_split_seed_only():
    pool = _frame([f"text {i}" for i in range(100)], ["x", "y"] * 50)
    a = make_splits(pool, None, DataConfig(split_seed=1))
    b = make_splits(pool, None, DataConfig(split_seed=1))
    c = make_splits(pool, None, DataConfig(split_seed=2))
    assert list(a[2]["text"]) == list(b[2]["text"])
    assert list(a[2]["text"]) != list(c[2]["text"])
    assert len(a[2]) == 25
