"""Predictions from a finished run. Imports no training code, so servers stay light.

predictor = Predictor.load("runs/fpb-minilm-lora")
predictor.predict(["Operating profit rose to EUR 13.1 mn"])
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from fintune.config import validate_config
from fintune.errors import FintuneError
from fintune.models.classifier import probability_fn


def check_finished_run(run_dir: Path) -> None:
    run_dir = Path(run_dir)
    partial = run_dir if run_dir.name.endswith(".partial") else run_dir.with_name(run_dir.name + ".partial")
    if partial.is_dir() and not (run_dir / "metrics.json").is_file():
        raise FintuneError(f"'{run_dir}' is an unfinished run; continue it with `fintune run CONFIG --resume`")
    if not run_dir.is_dir():
        raise FintuneError(f"run directory '{run_dir}' not found")
    for needed in ("config.yaml", "metrics.json"):
        if not (run_dir / needed).is_file():
            raise FintuneError(f"'{run_dir}' is not a finished run (no {needed})")
    saved = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    zero_shot = (saved.get("adapter") or {}).get("method") == "none"  # its weights are the base model's
    if not ((run_dir / "adapter").is_dir() or (run_dir / "model").is_dir() or zero_shot):
        raise FintuneError(f"'{run_dir}' is not a finished run (no adapter/ or model/ weights)")


class Predictor:
    def __init__(self, run_dir: Path, cfg, labels: list[str], tokenizer, model, kind: str = "encoder"):
        self.run_dir, self.cfg, self.labels, self.tokenizer, self.model = run_dir, cfg, labels, tokenizer, model
        self.kind = kind
        self._probs = probability_fn(kind, model, tokenizer, cfg, labels)

    @classmethod
    def load(cls, run_dir: str | Path) -> Predictor:
        from fintune.models.artifacts import load_trained

        run_dir = Path(run_dir)
        check_finished_run(run_dir)
        cfg = validate_config(yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")), str(run_dir))
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        labels = metrics["data"]["labels"]
        kind = metrics["train"].get("model_kind", "encoder")  # runs from before causal LMs are encoders
        tokenizer, model = load_trained(run_dir, cfg, labels, kind)
        return cls(run_dir, cfg, labels, tokenizer, model, kind)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities of shape (len(texts), len(labels)), in `self.labels` order."""
        return self._probs(list(texts))

    def predict(self, texts: list[str]) -> list[dict]:
        """One {label, probs} per text, probabilities keyed by label."""
        probs = self.predict_proba(texts)
        return [
            {"label": self.labels[int(p.argmax())], "probs": {lab: float(v) for lab, v in zip(self.labels, p)}}
            for p in probs
        ]

    def predict_file(self, src: Path, dst: Path, text_column: str = "text", chunk_rows: int = 2048) -> int:
        """Score a CSV in chunks (constant memory); keeps every input column, adds pred_label and prob_*.

        Writes `dst` only when every row was scored, so a bad row never leaves half a file behind.
        """
        src, dst = Path(src), Path(dst)
        if not src.is_file():
            raise FintuneError(f"input file '{src}' not found")
        tmp = dst.with_name(dst.name + ".part")
        try:
            n = self._score_chunks(src, tmp, text_column, chunk_rows)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(dst)
        return n

    def _score_chunks(self, src: Path, tmp: Path, text_column: str, chunk_rows: int) -> int:
        n = 0
        try:
            for chunk in pd.read_csv(src, dtype=str, keep_default_na=False, chunksize=chunk_rows, encoding="utf-8"):
                if text_column not in chunk.columns:
                    have = ", ".join(chunk.columns)
                    raise FintuneError(
                        f"input file '{src}' has no column '{text_column}' (columns: {have}); set --text-column"
                    )
                texts = chunk[text_column].str.strip()
                empty = texts.index[texts == ""]
                if len(empty):
                    raise FintuneError(f"input file '{src}', row {int(empty[0]) + 2}: column '{text_column}' is empty")
                probs = self.predict_proba(list(texts))
                chunk["pred_label"] = [self.labels[i] for i in probs.argmax(axis=1)]
                for j, label in enumerate(self.labels):
                    chunk[f"prob_{label}"] = np.round(probs[:, j], 6)
                chunk.to_csv(tmp, mode="a" if n else "w", header=not n, index=False)
                n += len(chunk)
        except UnicodeDecodeError:
            raise FintuneError(f"input file '{src}' is not UTF-8; re-save it as UTF-8") from None
        except pd.errors.ParserError as e:
            raise FintuneError(f"input file '{src}' could not be parsed: {str(e).splitlines()[0]}") from None
        except pd.errors.EmptyDataError:
            raise FintuneError(f"input file '{src}' is empty") from None
        return n
