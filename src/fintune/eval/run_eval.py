"""`fintune eval`: a finished run on its own split or on other datasets, beside the majority baseline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from fintune.atomic import write_text
from fintune.data.dataset import LabeledSplits
from fintune.data.registry import SOURCES, load_eval_set, load_splits, looks_like_path
from fintune.data.splits import normalise
from fintune.data.tables import read_table
from fintune.errors import FintuneError
from fintune.eval.benchmark_table import benchmark_frame, to_markdown
from fintune.eval.classify import scored_split
from fintune.eval.data_check import check_data
from fintune.eval.metrics import classification_metrics
from fintune.inference.predictor import Predictor
from fintune.inference.run_files import check_finished_run


def dataset_names(data: str | None) -> list[str | None]:
    """`--data a,b,c` -> ["a", "b", "c"] (duplicates dropped); an existing file keeps its commas."""
    if data is None or Path(data).exists():
        return [data]
    names = [name.strip() for name in data.split(",") if name.strip()]
    if not names:
        raise FintuneError(f"--data '{data}' names no dataset")
    return list(dict.fromkeys(names))


def evaluate_run(
    run_dir: Path, data: str | None = None, split: str = "test", allow_changed_data: bool = False
) -> tuple[str, dict]:
    """Load the run's model and evaluate it on one dataset (see `evaluate_on`)."""
    _check_split(split)
    check_finished_run(run_dir)
    if data and looks_like_path(data) and data not in SOURCES:
        read_table(Path(data))  # a file that cannot be read stops here, not after the model has loaded
    return evaluate_on(Predictor.load(run_dir), run_dir, data, split, allow_changed_data)


def evaluate_on(
    predictor: Predictor,
    run_dir: Path,
    data: str | None = None,
    split: str = "test",
    allow_changed_data: bool = False,
):
    """Evaluate and record the block under `evals` in the run's metrics.json; returns (key, block).

    Texts that the run trained on are counted (`overlap_with_train`), and the metrics are
    also given without them, so a cross-dataset number cannot hide a leak.
    """
    _check_split(split)
    own = load_splits(predictor.cfg.data, teacher=Predictor.load)
    changed = check_data(run_dir, own.fingerprints(), allow_changed_data)
    key, frame = _eval_set(predictor, own, data, split)
    block = {**_score(predictor, own, frame), **changed}
    _record(Path(run_dir), key, block)
    return key, block


def benchmark_run(run_dir: Path, datasets: list[str], split: str = "test", allow_changed_data: bool = False):
    """One model on several datasets: each recorded under `evals`, then benchmark.md/.csv in the run.

    Returns ([(key, block), ...], table).
    """
    _check_split(split)
    run_dir = Path(run_dir)
    predictor = Predictor.load(run_dir)
    own = load_splits(predictor.cfg.data, teacher=Predictor.load)
    changed = check_data(run_dir, own.fingerprints(), allow_changed_data)
    # Every dataset is loaded and its labels checked before the first (slow) prediction, so a
    # bad fourth name fails in seconds instead of after three evaluations.
    sets = [_eval_set(predictor, own, name, split) for name in datasets]
    results = []
    for key, frame in sets:
        block = {**_score(predictor, own, frame), **changed}
        _record(run_dir, key, block)  # each as it finishes: a crash later keeps the finished ones
        results.append((key, block))
    table = benchmark_frame(results, run_dir.name)
    write_text(run_dir / "benchmark.md", to_markdown(table))
    write_text(run_dir / "benchmark.csv", table.to_csv(index=False))
    return results, table


def _check_split(split: str) -> None:
    if split not in ("test", "validation"):
        raise FintuneError(f"--split must be 'test' or 'validation', not '{split}'")


def _eval_set(predictor: Predictor, own: LabeledSplits, data: str | None, split: str) -> tuple[str, pd.DataFrame]:
    """(evals key, rows) of one dataset, with its labels checked against the run's."""
    cfg, labels = predictor.cfg, predictor.labels
    if data is None or data == cfg.data.source:
        frame, source = getattr(own, split), cfg.data.source
    else:
        frame, _ = load_eval_set(data, labels, cfg.data, teacher=Predictor.load)
        source = data
    unknown = sorted(set(frame["label"]) - set(labels))
    if unknown:
        raise FintuneError(f"dataset '{source}' has labels {unknown} that the run does not know ({labels})")
    return f"{source}/{split}", frame


def _score(predictor: Predictor, own: LabeledSplits, frame: pd.DataFrame) -> dict:
    return benchmark_block(frame, predictor.predict_proba(list(frame["text"])), own.train, predictor.labels)


def benchmark_block(frame: pd.DataFrame, probs: np.ndarray, train: pd.DataFrame, labels: list[str]) -> dict:
    """One dataset's block under `evals`: metrics of `probs` on `frame`, its overlap with `train` (and the metrics
    without those rows), and the majority class of `train` on the same rows."""
    block = scored_split(frame, probs, labels)
    train_keys = set(train["text"].map(normalise))
    seen = frame["text"].map(normalise).isin(train_keys).to_numpy()
    block["overlap_with_train"] = int(seen.sum())
    if seen.any() and (~seen).any():
        unseen = ~seen  # the probabilities are already there: no second pass over these rows
        block["unseen_only"] = classification_metrics(
            list(frame["label"].to_numpy()[unseen]), [labels[i] for i in probs[unseen].argmax(axis=1)], labels
        )
    top = train["label"].value_counts().idxmax()
    block["baselines"] = {
        "majority": {**classification_metrics(list(frame["label"]), [top] * len(frame), labels), "class": top}
    }
    return block


def _record(run_dir: Path, key: str, block: dict) -> None:
    path = run_dir / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    metrics.setdefault("evals", {})[key] = block
    write_text(path, json.dumps(metrics, indent=2))
