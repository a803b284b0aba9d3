"""Finding dataset files: FINTUNE_DATA_DIR, then the cache, then the hub (offline: a clear error)."""

import zipfile

import pytest

from fintune.config import DataConfig
from fintune.data import load_splits
from fintune.data.locate import locate
from fintune.data.sentiment import _unzip_fpb
from fintune.errors import FintuneError


def test_offline_without_local_copy_names_fintune_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("FINTUNE_DATA_DIR", raising=False)
    monkeypatch.setenv("FINTUNE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FintuneError, match="FINTUNE_DATA_DIR is not set.*hub failed \\(HF_HUB_OFFLINE is set\\)"):
        load_splits(DataConfig(source="tfns"))
    with pytest.raises(FintuneError, match="fiqa_2018_task1/train.csv under FINTUNE_DATA_DIR.*no public download"):
        load_splits(DataConfig(source="fiqa-sa"))


def test_data_dir_wins_then_cache(tmp_path, monkeypatch):
    (tmp_path / "data/folder").mkdir(parents=True)
    (tmp_path / "data/folder/f.csv").write_text("x")
    (tmp_path / "home/datasets/other").mkdir(parents=True)
    (tmp_path / "home/datasets/other/g.csv").write_text("y")
    monkeypatch.setenv("FINTUNE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FINTUNE_HOME", str(tmp_path / "home"))
    assert locate("s", "folder", "f.csv") == tmp_path / "data/folder/f.csv"
    assert locate("s", "other", "g.csv") == tmp_path / "home/datasets/other/g.csv"


def test_fpb_zip_from_the_hub_becomes_our_csv(tmp_path):
    """The published zip holds latin-1 `sentence@label` lines; the cache gets a UTF-8 `text,label` CSV."""
    archive = tmp_path / "fpb.zip"
    lines = "Operating profit rose to EUR 13.1 mn .@positive\r\nSepp\xe4l\xe4 will report on Friday .@neutral\r\n"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("FinancialPhraseBank-v1.0/Sentences_AllAgree.txt", lines.encode("latin-1"))
    target = tmp_path / "out.csv"
    _unzip_fpb("all")(archive, target)
    assert target.read_text(encoding="utf-8").splitlines() == [
        "text,label",
        "Operating profit rose to EUR 13.1 mn .,positive",
        "Seppälä will report on Friday .,neutral",
    ]
