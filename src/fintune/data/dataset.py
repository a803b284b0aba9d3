"""The in-memory form every classification source is turned into."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

COLUMNS = ["id", "text", "label"]


@dataclass
class LabeledSplits:
    """Train / validation / test frames with columns `id, text, label` and a fixed label order."""

    name: str
    labels: list[str]
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    files: list[Path] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    """What splitting did: sizes, duplicates dropped across splits, truncation to max samples."""
    prices: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Price bars per asset, for sources that label text by later prices (baselines and backtests use them)."""
    posts: pd.DataFrame | None = None
    """Trend sources: every post (timestamp, asset, text) before examples were made, for the sentiment index."""

    def fingerprints(self) -> dict[str, str]:
        """sha256 of every data file used, so a result can be traced to its exact inputs."""
        return {str(p): file_sha256(p) for p in self.files}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
