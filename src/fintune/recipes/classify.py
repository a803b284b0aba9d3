"""Sentiment (or any labelled texts) -> a label per text: FPB, FiQA-SA, TFNS, NWGI, SemEval, or a CSV/JSONL file.

Encoders get a fresh classification head; causal LMs learn to write the label and are scored both by label
likelihood and by generate-and-parse.
"""

from __future__ import annotations

from pathlib import Path

from fintune.config import RunConfig
from fintune.recipes import labelled
from fintune.recipes.pieces import RunOptions


def run(cfg: RunConfig, options: RunOptions) -> Path:
    """Train, evaluate beside the baselines, write runs/<name>/; returns the finished folder (on every rank)."""
    return labelled.run(cfg, options, removed=labelled.copies_removed)
