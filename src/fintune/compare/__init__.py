"""`fintune compare`: a grid of runs from a sweep file -> leaderboard, paired tests, best.json, plots."""

from __future__ import annotations

from pathlib import Path

from fintune.compare.report import write_outputs
from fintune.compare.sweep import Sweep, load_sweep, run_sweep


def compare(sweep_file: str | Path, dry_run: bool = False, say=print) -> Path | None:

    sweep = load_sweep(sweep_file)
    if dry_run:
        for point, cfg in sweep.runs:
            say(f"{cfg.name}: {point}")
        say(f"{len(sweep.runs)} run(s) into {sweep.folder}")
        return None
    records = run_sweep(sweep, say)
    return write_outputs(sweep, records, say)


__all__ = ["Sweep", "compare", "load_sweep", "run_sweep"]
