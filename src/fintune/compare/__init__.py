"""`fintune compare`: a grid of runs from a sweep file -> leaderboard, paired tests, best.json, plots."""

from __future__ import annotations

from pathlib import Path

from fintune.compare.report import write_outputs
from fintune.compare.sweep import Sweep, can_resume, is_done, load_sweep, run_sweep


def compare(sweep_file: str | Path, dry_run: bool = False, say=print) -> Path | None:

    sweep = load_sweep(sweep_file)
    if dry_run:
        todo = 0
        for point, cfg in sweep.runs:
            done = is_done(cfg)
            todo += not done
            state = "finished, would be skipped" if done else "would continue" if can_resume(cfg) else "would run"
            say(f"{cfg.name}: {point} ({state})")
        say(f"{len(sweep.runs)} run(s) into {sweep.folder}, {todo} to run")
        return None
    records = run_sweep(sweep, say)
    return write_outputs(sweep, records, say)


__all__ = ["Sweep", "compare", "load_sweep", "run_sweep"]
