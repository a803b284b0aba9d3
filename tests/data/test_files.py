"""A user's CSV/JSONL file as a source, and the errors a bad file gets."""

import pytest

from fintune.config import DataConfig
from fintune.data import load_splits
from fintune.errors import FintuneError
from tests.conftest import TINY_CSV


def _write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_csv_source_gets_three_disjoint_splits():
    splits = load_splits(DataConfig(source=str(TINY_CSV)))
    assert splits.labels == ["negative", "neutral", "positive"]
    sizes = [len(splits.train), len(splits.validation), len(splits.test)]
    assert all(sizes)
    assert not set(splits.train["text"]) & set(splits.test["text"])
    assert not set(splits.validation["text"]) & set(splits.test["text"])
    assert splits.stats["n_test"] == len(splits.test)


def test_jsonl_with_label_map_and_test_file(tmp_path):
    rows = "\n".join(f'{{"sentence": "text number {i}", "y": {i % 2}}}' for i in range(40))
    train = _write(tmp_path, "train.jsonl", rows)
    test = _write(tmp_path, "test.jsonl", '{"sentence": "held out", "y": 1}\n{"sentence": "other", "y": 0}')
    cfg = DataConfig(
        source=str(train),
        test_source=str(test),
        text_column="sentence",
        label_column="y",
        label_map={"0": "down", "1": "up"},
    )
    splits = load_splits(cfg)
    assert splits.labels == ["down", "up"]
    assert list(splits.test["text"]) == ["held out", "other"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "a.csv",
            "sentence,label\nhi,positive\n",
            "has no column 'text' (columns: sentence, label); set data.text_column",
        ),
        ("b.csv", "text,label\nfine,positive\n ,negative\n", "row 3: column 'text' is empty"),
        ("c.csv", "text,label\nfine,positive\nbad,sideways\n", "row 3: unknown label 'sideways'"),
        ("d.csv", "text,label\nfine,positive\nother,\n", "row 3: column 'label' is empty"),
        ("e.txt", "whatever", "unsupported type '.txt'"),
        ("f.csv", "text,label\nup,positive\ndown,negative\n", "has 2 labelled rows; at least 10 are needed"),
    ],
)
def test_bad_files_name_file_column_and_row(tmp_path, name, content, message):
    path = _write(tmp_path, name, content)
    labels = ["negative", "neutral", "positive"]
    with pytest.raises(FintuneError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        load_splits(DataConfig(source=str(path), labels=labels))
    assert str(path) in str(err.value)


def test_non_utf8_file_names_the_line(tmp_path):
    path = _write(
        tmp_path, "latin.csv", "text,label\nok,positive\nM\xfcller profit,positive\n".encode("latin-1"), mode="wb"
    )
    with pytest.raises(FintuneError, match=r"latin.csv' is not UTF-8 \(line 3\)"):
        load_splits(DataConfig(source=str(path)))


def test_missing_file_and_unknown_dataset():
    with pytest.raises(FintuneError, match="'nope/x.csv' not found"):
        load_splits(DataConfig(source="nope/x.csv"))
    with pytest.raises(FintuneError, match="unknown dataset 'fpbb' in data.source"):
        load_splits(DataConfig(source="fpbb"))


def test_exported_alpaca_file_reads_back_as_a_source(tmp_path):
    from fintune.data.instruction_io import export_splits

    splits = load_splits(DataConfig(source=str(TINY_CSV)))
    train_json = export_splits(splits, tmp_path, "alpaca")[0]
    again = load_splits(DataConfig(source=str(train_json)))
    assert again.labels == splits.labels
    assert set(again.train["text"]) | set(again.validation["text"]) | set(again.test["text"]) == set(
        splits.train["text"]
    )
