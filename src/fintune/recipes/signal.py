"""Dated news -> investment signal or none, split by publication time: a binary task whose decision threshold
can be chosen on validation (eval.threshold) and whose precision-recall curve is drawn."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from fintune.config import RunConfig
from fintune.recipes import labelled
from fintune.train.distributed import Distributed


def run(
    cfg: RunConfig,
    resume: bool = False,
    with_test: bool = True,
    console: Console | None = None,
    dist: Distributed | None = None,
) -> Path:
    """Train, evaluate beside the baselines, write runs/<name>/; returns the finished folder (on every rank)."""
    return labelled.run(cfg, resume, with_test, console, dist, removed=labelled.purged_at_boundaries)
