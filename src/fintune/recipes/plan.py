"""`fintune run --dry-run`: what a config would do, from its data alone (no model is loaded, nothing is written)."""

from __future__ import annotations

from fintune.config import RunConfig
from fintune.data.registry import load_splits
from fintune.data.windows import load_window_splits
from fintune.inference.predictor import Predictor
from fintune.train.loop import plan_line


def dry_run_plan(cfg: RunConfig) -> list[str]:
    """Lines: the job, the examples per split (the data is read and checked as a run would), the training plan."""
    if cfg.task == "forecast":
        stats = load_window_splits(cfg.data).stats
        unit = f"windows {cfg.data.windows.pairs}"
    else:
        stats = load_splits(cfg.data, teacher=Predictor.load).stats
        unit = "examples"
    lines = [
        f"job: task {cfg.task}, model {cfg.model.path} + {cfg.adapter.method}, data {cfg.data.source}",
        f"{unit}: {stats['n_train']:,} train / {stats['n_validation']:,} validation / {stats['n_test']:,} test",
    ]
    if cfg.adapter.method == "none":
        lines.append("plan: no training (zero-shot); validation and test are scored as they are")
    else:
        lines.append(plan_line(cfg.train, stats["n_train"]))
    lines.append(f"writes: {cfg.run_dir}/ (nothing written by --dry-run)")
    return lines
