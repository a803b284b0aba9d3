"""Saving a trained classifier into a run directory and loading it back (safetensors only)."""

from __future__ import annotations

from pathlib import Path

from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from fintune.config import RunConfig
from fintune.models.causal import load_causal
from fintune.models.encoder import load_classifier
from fintune.models.pooling import resolve_pooling, use_mean_pooling
from fintune.models.registry import resolve_model_path


def save_trained(model, tokenizer, run_dir: Path) -> Path:
    """Adapters go to `adapter/` (small), fully or partly fine-tuned weights to `model/`."""

    folder = run_dir / ("adapter" if isinstance(model, PeftModel) else "model")
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def load_trained(run_dir: Path, cfg: RunConfig, labels: list[str], kind: str = "encoder"):
    """(tokenizer, model) of a finished run, in eval mode."""
    run_dir = Path(run_dir)
    if kind == "causal":
        return _load_causal_run(run_dir, cfg)

    if (run_dir / "model").is_dir():
        folder = run_dir / "model"
        hf_logging.set_verbosity_error()  # a mean-pooled model has no pooler weights to load
        model = AutoModelForSequenceClassification.from_pretrained(
            folder, use_safetensors=True, trust_remote_code=cfg.model.trust_remote_code
        )
        if resolve_pooling(cfg.model.pooling, resolve_model_path(cfg.model.path, cfg.model.gguf_file)) == "mean":
            use_mean_pooling(model)
    else:
        folder = run_dir / "adapter"
        _, base = load_classifier(cfg.model, labels)
        model = PeftModel.from_pretrained(base, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=cfg.model.trust_remote_code)
    return tokenizer, model.eval()


def _load_causal_run(run_dir: Path, cfg: RunConfig):

    if (run_dir / "model").is_dir():
        folder = run_dir / "model"
        model = AutoModelForCausalLM.from_pretrained(
            folder, use_safetensors=True, trust_remote_code=cfg.model.trust_remote_code
        )
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=cfg.model.trust_remote_code)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer, model.eval()
    tokenizer, model = load_causal(cfg.model, cfg.adapter)
    if (run_dir / "adapter").is_dir():  # absent for zero-shot runs, which are their base model
        model = PeftModel.from_pretrained(model, run_dir / "adapter")
    return tokenizer, model.eval()
