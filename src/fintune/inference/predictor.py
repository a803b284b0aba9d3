"""Predictions from a finished run. Imports no training code, so servers stay light.

predictor = Predictor.load("runs/fpb-minilm-lora")
predictor.predict(["Operating profit rose to EUR 13.1 mn"])
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import yaml
from peft import PeftModel

from fintune.config import validate_config
from fintune.errors import FintuneError
from fintune.inference.batch_scoring import score_csv
from fintune.inference.probabilities import probability_fn
from fintune.inference.run_files import check_finished_run
from fintune.models.artifacts import load_trained
from fintune.models.precision import bf16_available

# Most texts per forward pass when predicting (inference/length_batches.py cuts batches by token count below it).
# Smaller than training's eval batch: on a CPU 16-32 short sentences keep the activations in cache where 128 do not
# (benchmarks/RESULTS.md, "CPU inference").
PREDICT_BATCH = 32
PRECISIONS = ("fp32", "bf16")
"""fp32: the run's own numbers (its metrics were computed so). bf16: autocast where the hardware does bf16 natively,
faster with nearly all labels unchanged (measured in benchmarks/RESULTS.md, "CPU inference")."""


def merge_adapter(model):
    """The base model with the LoRA-family weights folded in: one matmul per layer instead of three at inference.
    Quantised (QLoRA) bases are left as they are: merging would de-quantise them."""

    if not isinstance(model, PeftModel):
        return model
    base = model.get_base_model()
    if getattr(base, "is_loaded_in_4bit", False) or getattr(base, "is_loaded_in_8bit", False):
        return model
    return model.merge_and_unload().eval()


def _known_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise FintuneError(f"precision must be one of {', '.join(PRECISIONS)}, not '{precision}'")
    return precision


def _check_precision(precision: str, model) -> str:
    """A known precision that this model's device can run."""
    if _known_precision(precision) == "bf16":
        device = next(model.parameters()).device
        if not bf16_available(device):
            raise FintuneError(
                f"precision bf16 needs native bf16 (AVX512-BF16 / AMX, or a GPU); this {device.type} has none, use fp32"
            )
    return precision


class Predictor:
    def __init__(
        self,
        run_dir: Path,
        cfg,
        labels: list[str],
        tokenizer,
        model,
        kind: str = "encoder",
        batch_size: int = 0,
        precision: str = "fp32",
    ):
        self.run_dir, self.cfg, self.labels, self.tokenizer, self.model = run_dir, cfg, labels, tokenizer, model
        self.kind, self.precision = kind, _check_precision(precision, model)
        batch_size = batch_size or min(cfg.eval.batch_size, PREDICT_BATCH)
        self._probs = probability_fn(kind, model, tokenizer, cfg, labels, batch_size)

    @classmethod
    def load(cls, run_dir: str | Path, merge: bool = True, batch_size: int = 0, precision: str = "fp32") -> Predictor:
        """`merge=False` keeps the adapter separate (as training evaluated it; probabilities differ by ~1e-6).
        `batch_size` 0: the smaller of the run's eval batch and PREDICT_BATCH. `precision`: one of PRECISIONS."""

        _known_precision(precision)  # before the weights load; the device check needs them
        run_dir = Path(run_dir)
        check_finished_run(run_dir)
        cfg = validate_config(yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")), str(run_dir))
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        labels = metrics["data"]["labels"]
        kind = metrics["train"].get("model_kind", "encoder")  # runs from before causal LMs are encoders
        tokenizer, model = load_trained(run_dir, cfg, labels, kind)
        if merge:
            model = merge_adapter(model)
        return cls(run_dir, cfg, labels, tokenizer, model, kind, batch_size, precision)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities of shape (len(texts), len(labels)), in `self.labels` order."""
        if self.precision == "fp32":
            return self._probs(list(texts))

        device = next(self.model.parameters()).device
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):  # weights stay fp32
            return self._probs(list(texts))

    def predict(self, texts: list[str]) -> list[dict]:
        """One {label, probs} per text, probabilities keyed by label."""
        probs = self.predict_proba(texts)
        return [
            {"label": self.labels[int(p.argmax())], "probs": {lab: float(v) for lab, v in zip(self.labels, p)}}
            for p in probs
        ]

    def predict_file(
        self, src: Path, dst: Path, text_column: str = "text", chunk_rows: int = 2048, on_bad_row: str = "stop"
    ):
        """Score a CSV in chunks; see `fintune.inference.batch_scoring.score_csv` (returns its ScoreReport)."""

        return score_csv(self, src, dst, text_column, chunk_rows, on_bad_row)
