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
    job = labelled.prepare(cfg, resume, dist, console, removed=labelled.purged_at_boundaries)
    state = labelled.fit(job)
    if not job.run.is_main:
        return job.run.folder.final
    done = labelled.evaluate(job, with_test)
    final = labelled.write(job, done, state, with_test)
    if with_test:
        print(f"report: {final / 'report.html'}")
    return final
