"""Encoder sequence classifiers (BERT family, FinBERT-style) from a hub id, a directory or the bundle."""

from __future__ import annotations

from pathlib import Path

from fintune.config import ModelConfig
from fintune.errors import FintuneError
from fintune.models.pooling import resolve_pooling, use_mean_pooling
from fintune.models.registry import resolve_model_path


def load_tokenizer(path: str, cfg: ModelConfig):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, revision=cfg.revision, trust_remote_code=cfg.trust_remote_code)


def load_classifier(cfg: ModelConfig, labels: list[str], quantization=None):
    """(tokenizer, model) with a fresh classification head over `labels`; weights from safetensors only."""
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    path = resolve_model_path(cfg.path)
    try:
        config = AutoConfig.from_pretrained(path, revision=cfg.revision, trust_remote_code=cfg.trust_remote_code)
    except (OSError, ValueError) as e:
        if "trust_remote_code" in str(e):
            raise FintuneError(
                f"model '{cfg.path}' ships its own code; set model.trust_remote_code=true if you trust it"
            ) from None
        where = "a local directory" if Path(path).exists() else "a hub id (offline: download it first)"
        raise FintuneError(f"cannot load model '{cfg.path}' as {where}: {str(e).splitlines()[0]}") from None
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: i for i, label in enumerate(labels)}
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized classifier" report is expected here
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            path,
            config=config,
            revision=cfg.revision,
            trust_remote_code=cfg.trust_remote_code,
            use_safetensors=True,
            quantization_config=quantization,
            ignore_mismatched_sizes=True,  # a pretrained head for other labels is replaced, not an error
        )
    except OSError as e:
        raise FintuneError(f"cannot load weights of '{cfg.path}' (safetensors required): {e}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    if resolve_pooling(cfg.pooling, path) == "mean" and not use_mean_pooling(model):
        raise FintuneError(f"model.pooling=mean: '{cfg.path}' has no pooler to replace; use model.pooling=cls")
    return load_tokenizer(path, cfg), model
