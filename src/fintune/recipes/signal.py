"""Dated news -> investment signal or none, split by publication time: a binary task whose decision threshold
can be chosen on validation (eval.threshold) and whose precision-recall curve is drawn."""

from __future__ import annotations

from pathlib import Path

from fintune.config import RunConfig
from fintune.recipes import labelled
from fintune.recipes.pieces import RunOptions


def run(cfg: RunConfig, options: RunOptions) -> Path:
    """Train, evaluate beside the baselines, write runs/<name>/; returns the finished folder (on every rank)."""
    return labelled.run(cfg, options, removed=labelled.purged_at_boundaries)
