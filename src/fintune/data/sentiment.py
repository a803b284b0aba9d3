"""The financial sentiment benchmarks, all mapped to negative / neutral / positive.

Each loader returns (train pool, test or None); `splits.py` carves what is missing.
Mappings follow FinGPT's benchmark so numbers are comparable with its tables.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from fintune.data.locate import HubFile, locate
from fintune.data.tables import read_table

SENTIMENT = ["negative", "neutral", "positive"]
FPB_LEVELS = {"fpb": "50", "fpb-66agree": "66", "fpb-75agree": "75", "fpb-allagree": "all"}


def _frame(ids, texts, labels) -> pd.DataFrame:
    return pd.DataFrame({"id": list(ids), "text": list(texts), "label": list(labels)}).reset_index(drop=True)


def _unzip_fpb(level: str):
    def convert(zip_path: Path, target: Path) -> None:

        with zipfile.ZipFile(zip_path) as z:
            raw = z.read(f"FinancialPhraseBank-v1.0/Sentences_{level.capitalize()}Agree.txt")
        rows = [line.rsplit("@", 1) for line in raw.decode("latin-1").splitlines() if "@" in line]
        _frame(range(len(rows)), [r[0].strip() for r in rows], [r[1].strip() for r in rows]).drop(columns="id").to_csv(
            target, index=False
        )

    return convert


def fpb_file(name: str) -> Path:
    level = FPB_LEVELS[name]
    hub = HubFile("takala/financial_phrasebank", "data/FinancialPhraseBank-v1.0.zip", _unzip_fpb(level))
    return locate(name, "financial_phrasebank", f"sentences_{level}agree.csv", hub)


def load_fpb(name: str):
    """All agreement levels share the 50%-file split, so a sentence is in the same split at every level.

    The 50% file is split exactly as FinGPT and most papers do
    (`train_test_split(test_size=0.25, random_state=42)`, 1,212 test sentences); the stricter levels
    are subsets of it, so evaluating an FPB-50 model on `fpb-allagree` never tests on training text.
    """

    base_path = fpb_file("fpb")
    base = read_table(base_path)
    _, base_test = train_test_split(base, test_size=0.25, random_state=42)
    test_texts = set(base_test["text"])
    path = base_path if name == "fpb" else fpb_file(name)
    frame = base if name == "fpb" else read_table(path)
    frame = _frame([f"{name}:{i}" for i in frame.index], frame["text"], frame["label"])
    in_test = frame["text"].isin(test_texts)
    if name == "fpb":  # keep the published order of the test split
        test = frame.loc[base_test.index]
        return frame.drop(index=base_test.index), test, [path]
    return frame[~in_test], frame[in_test], [base_path, path]


def load_tfns(name: str):
    """Twitter Financial News Sentiment: its validation file is the customary test set."""
    to_label = {"0": "negative", "1": "positive", "2": "neutral"}
    frames, paths = [], []
    for split in ("train", "valid"):
        hub = HubFile("zeroshot/twitter-financial-news-sentiment", f"sent_{split}.csv")
        path = locate(name, "twitter_financial_news_sentiment", f"sent_{split}.csv", hub)
        raw = read_table(path)
        frames.append(_frame([f"tfns-{split}:{i}" for i in raw.index], raw["text"], raw["label"].map(to_label)))
        paths.append(path)
    return frames[0], frames[1], paths


def score_to_label(score: float) -> str:
    """FinGPT's thresholds for FiQA-SA scores in [-1, 1]: < -0.1 negative, < 0.1 neutral, else positive."""
    return "negative" if score < -0.1 else "neutral" if score < 0.1 else "positive"


def load_fiqa(name: str):
    path = locate(name, "fiqa_2018_task1", "train.csv")
    raw = read_table(path)
    labels = raw["sentiment_score"].astype(float).map(score_to_label)
    return _frame([f"fiqa:{i}" for i in raw["id"]], raw["sentence"], labels), None, [path]


NWGI_TO_3 = {
    "strong negative": "negative",
    "moderately negative": "negative",
    "mildly negative": "neutral",
    "neutral": "neutral",
    "mildly positive": "neutral",
    "moderately positive": "positive",
    "strong positive": "positive",
}


def load_nwgi(name: str):
    """Only NWGI's published test split is available offline; we split it for training."""
    path = locate(name, "nwgi_news_with_gpt_instructions", "test.csv")
    raw = read_table(path)
    return _frame([f"nwgi:{i}" for i in raw.index], raw["text"], raw["label"].map(NWGI_TO_3)), None, [path]


def load_semeval_headlines(name: str):
    frames, paths = [], []
    for split in ("train", "test"):
        path = locate(name, "semeval2017_task5", f"headlines_{split}.csv")
        raw = read_table(path)
        labels = raw["sentiment_score"].astype(float).map(score_to_label)
        frames.append(_frame([f"semeval-{split}:{i}" for i in raw["id"]], raw["title"], labels))
        paths.append(path)
    return frames[0], frames[1], paths
