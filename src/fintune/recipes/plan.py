"""`fintune run --dry-run`: what a config would do, from its data alone (no model is loaded, nothing is written)."""

from __future__ import annotations

from fintune.config import RunConfig
from fintune.data.registry import load_splits, looks_like_path
from fintune.data.windows import load_window_splits
from fintune.inference.predictor import Predictor
from fintune.models.availability import model_line
from fintune.train.loop import plan_line


def dry_run_plan(cfg: RunConfig) -> list[str]:
    """Lines: the job, the examples per split (the data is read and checked as a run would), the training plan."""
    labels = None
    if cfg.task == "forecast":
        stats = load_window_splits(cfg.data).stats
        unit = f"windows {cfg.data.windows.pairs}"
    else:
        splits = load_splits(cfg.data, teacher=Predictor.load)
        read = cfg.data.labels is None and isinstance(cfg.data.source, str) and looks_like_path(cfg.data.source)
        stats, unit, labels = splits.stats, "examples", label_line(splits, read_from_file=read)
    lines = [
        f"job: task {cfg.task}, model {cfg.model.path} + {cfg.adapter.method}, data {cfg.data.source}",
        f"{unit}: {stats['n_train']:,} train / {stats['n_validation']:,} validation / {stats['n_test']:,} test",
    ]
    if labels:
        lines.append(labels)
    lines.append(model_line(cfg.model))
    if cfg.adapter.method == "none":
        lines.append("plan: no training (zero-shot); validation and test are scored as they are")
    else:
        lines.append(plan_line(cfg.train, stats["n_train"]))
    lines.append(f"writes: {cfg.run_dir}/ (nothing written by --dry-run)")
    return lines


def label_line(splits, read_from_file: bool) -> str:
    """The classes with their training counts, and where the list came from: a stray label read as a class shows
    up here before hours of training."""
    counts = splits.train["label"].value_counts()
    classes = ", ".join(f"{label} {int(counts.get(label, 0)):,}" for label in splits.labels)
    origin = "read from the file; data.labels fixes them" if read_from_file else "the dataset's"
    return f"labels: {classes} (training examples of each; {origin})"
