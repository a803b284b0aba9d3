"""`fintune compare`: a grid of runs from a sweep file -> leaderboard, paired tests, best.json, plots."""

from __future__ import annotations

from pathlib import Path

from fintune.compare.report import write_outputs
from fintune.compare.sweep import Sweep, can_resume, in_part, is_done, load_sweep, run_sweep


def compare(
    sweep_file: str | Path, dry_run: bool = False, say=print, part: tuple[int, int] | None = None
) -> Path | None:
    """Run the sweep (or its `part`, K of N) and write the leaderboard; a part writes it only when it finds every
    run of the sweep finished, so the last part to end writes it."""

    sweep = load_sweep(sweep_file)
    mine = [(point, cfg) for i, (point, cfg) in enumerate(sweep.runs, start=1) if in_part(i, part)]
    of_part = f" (part {part[0]}/{part[1]})" if part else ""
    if dry_run:
        todo = 0
        for point, cfg in mine:
            done = is_done(cfg)
            todo += not done
            state = "finished, would be skipped" if done else "would continue" if can_resume(cfg) else "would run"
            say(f"{cfg.name}: {point} ({state})")
        say(f"{len(mine)} of {len(sweep.runs)} run(s){of_part} into {sweep.folder}, {todo} to run")
        return None
    records = run_sweep(sweep, say, part)
    if part:
        left = [cfg.name for _, cfg in sweep.runs if not is_done(cfg)]
        if left:
            say(
                f"part {part[0]}/{part[1]} done; {len(left)} run(s) of the sweep not finished ({', '.join(left)}): "
                "the leaderboard is written when the other parts end, or by the same command without --part"
            )
            return None
        records = run_sweep(sweep, say=lambda _: None)  # every run finished: this only reads their records
    return write_outputs(sweep, records, say)


__all__ = ["Sweep", "compare", "load_sweep", "run_sweep"]
