"""`fintune eval`: a finished run on its own split or on another dataset, beside the majority baseline."""

from __future__ import annotations

import json
from pathlib import Path

from fintune.data.registry import load_eval_set, load_splits
from fintune.data.splits import normalise
from fintune.errors import FintuneError
from fintune.eval.classify import evaluate_split
from fintune.eval.metrics import classification_metrics
from fintune.predict import Predictor


def evaluate_run(run_dir: Path, data: str | None = None, split: str = "test") -> tuple[str, dict]:
    """Evaluate and record the block under `evals` in the run's metrics.json; returns (key, block).

    Texts that the run trained on are counted (`overlap_with_train`), and the metrics are
    also given without them, so a cross-dataset number cannot hide a leak.
    """
    if split not in ("test", "validation"):
        raise FintuneError(f"--split must be 'test' or 'validation', not '{split}'")
    predictor = Predictor.load(run_dir)
    cfg, labels = predictor.cfg, predictor.labels
    own = load_splits(cfg.data)
    if data is None or data == cfg.data.source:
        frame, source = getattr(own, split), cfg.data.source
    else:
        frame, _ = load_eval_set(data, labels, cfg.data)
        source = data
    unknown = sorted(set(frame["label"]) - set(labels))
    if unknown:
        raise FintuneError(f"dataset '{source}' has labels {unknown} that the run does not know ({labels})")
    block, _ = evaluate_split(predictor.predict_proba, frame, labels)
    train_keys = set(own.train["text"].map(normalise))
    seen = frame["text"].map(normalise).isin(train_keys)
    block["overlap_with_train"] = int(seen.sum())
    if seen.any() and (~seen).any():
        unseen = frame[~seen]
        probs = predictor.predict_proba(list(unseen["text"]))
        block["unseen_only"] = classification_metrics(
            list(unseen["label"]), [labels[i] for i in probs.argmax(axis=1)], labels
        )
    top = own.train["label"].value_counts().idxmax()
    block["baselines"] = {"majority": classification_metrics(list(frame["label"]), [top] * len(frame), labels)}
    key = f"{source}/{split}" if data is not None else f"{cfg.data.source}/{split}"
    _record(Path(run_dir), key, block)
    return key, block


def _record(run_dir: Path, key: str, block: dict) -> None:
    path = run_dir / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    metrics.setdefault("evals", {})[key] = block
    tmp = path.with_name("metrics.json.tmp")
    tmp.write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    tmp.replace(path)
