"""Batch scoring of CSV files: columns kept, constant-size chunks, bad rows stop (naming the row) or are skipped."""

import numpy as np
import pandas as pd
import pytest

from fintune.errors import FintuneError
from fintune.inference.batch_scoring import score_csv


class LengthPredictor:
    """Calls a text 'long' when it has more than 3 words; records the size of every batch it is given."""

    labels = ["short", "long"]

    def __init__(self):
        self.batches = []

    def predict_proba(self, texts):
        self.batches.append(len(texts))
        long = np.array([len(t.split()) > 3 for t in texts], dtype=float)
        return np.stack([1 - long, long], axis=1)


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_column_kept_and_chunks_bounded(tmp_path):
    src = _write(tmp_path / "in.csv", ["id,text,source"] + [f"{i},{'word ' * (i % 6 + 1)},feed" for i in range(25)])
    predictor = LengthPredictor()
    report = score_csv(predictor, src, tmp_path / "out.csv", chunk_rows=10, progress=False)
    out = pd.read_csv(tmp_path / "out.csv")
    assert report.scored == 25 and not report.skipped and predictor.batches == [10, 10, 5]
    assert list(out.columns) == ["id", "text", "source", "pred_label", "prob_short", "prob_long"]
    assert out["id"].tolist() == list(range(25))
    assert (out["pred_label"] == np.where(out["text"].str.split().str.len() > 3, "long", "short")).all()


def test_stop_names_the_row_and_writes_nothing(tmp_path):
    src = _write(tmp_path / "in.csv", ["id,text", "1,fine text", "2,  ", "3,more text"])
    with pytest.raises(FintuneError, match=r"row 3: column 'text' is empty"):
        score_csv(LengthPredictor(), src, tmp_path / "out.csv", progress=False)
    assert not list(tmp_path.glob("out.csv*"))


def test_malformed_line_stops_by_default(tmp_path):
    src = _write(tmp_path / "in.csv", ["id,text", "1,fine", "2,too,many", "3,ok"])
    with pytest.raises(FintuneError, match=r"in.csv', line 3: expected 2 fields, saw 3 \(--on-bad-row skip\)"):
        score_csv(LengthPredictor(), src, tmp_path / "out.csv", progress=False)
    assert not (tmp_path / "out.csv").exists()


def test_skip_leaves_bad_rows_out_and_lists_them_with_file_row_numbers(tmp_path):
    lines = ["id,text", "1,one two", "2,", "3,a,b", "4,four words in here", "5,", "6,six"]
    src = _write(tmp_path / "in.csv", lines)
    report = score_csv(LengthPredictor(), src, tmp_path / "out.csv", chunk_rows=2, on_bad_row="skip", progress=False)
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["id"].tolist() == [1, 4, 6] and report.scored == 3
    skipped = pd.read_csv(report.skipped_file)
    # rows as a spreadsheet numbers them: header = 1, so id n sits on row n + 1
    assert sorted(skipped["row"]) == [3, 4, 6]
    assert "expected 2 fields" in skipped.set_index("row").loc[4, "reason"]


def test_missing_column_and_encoding(tmp_path):
    src = _write(tmp_path / "in.csv", ["id,headline", "1,x"])
    with pytest.raises(FintuneError, match="no column 'text'.*--text-column"):
        score_csv(LengthPredictor(), src, tmp_path / "out.csv", progress=False)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,text\n1,caf\xe9 prices\n".encode("latin-1"))
    with pytest.raises(FintuneError, match="not UTF-8"):
        score_csv(LengthPredictor(), latin, tmp_path / "out.csv", progress=False)
