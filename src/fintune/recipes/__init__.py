"""One recipe per task, each a short function over the shared pieces (pieces.py, labelled.py).

`RECIPES[cfg.task](cfg, RunOptions(...))` (through `run_recipe`) is how the command line and `fintune compare` run
anything; every recipe trains in one or several processes, resumes, and returns the finished run folder.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from fintune.config import RunConfig
from fintune.recipes import classify, forecast, signal, trend
from fintune.recipes.pieces import RunOptions
from fintune.train.distributed import Distributed

RECIPES = {"classify": classify.run, "trend": trend.run, "forecast": forecast.run, "signal": signal.run}


def run_recipe(
    cfg: RunConfig,
    resume: bool = False,
    with_test: bool = True,
    console: Console | None = None,
    dist: Distributed | None = None,
) -> Path:
    """Run `cfg` with its task's recipe; returns the finished run folder."""
    return RECIPES[cfg.task](cfg, RunOptions(resume, with_test, console, dist))


__all__ = ["RECIPES", "run_recipe"]
