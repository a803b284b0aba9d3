"""Datasets: named sources read from `$FINTUNE_DATA_DIR`, user files, and leakage-safe splits."""

from fintune.data.dataset import LabeledSplits
from fintune.data.registry import list_sources, load_splits

__all__ = ["LabeledSplits", "list_sources", "load_splits"]
