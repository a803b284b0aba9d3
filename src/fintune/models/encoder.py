"""Encoder sequence classifiers (BERT family, FinBERT-style) from a hub id, a directory or the bundle."""

from __future__ import annotations

from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from fintune.config import ModelConfig
from fintune.errors import FintuneError
from fintune.models.loading import load_model_config
from fintune.models.pooling import resolve_pooling, use_mean_pooling


def load_tokenizer(path: str, cfg: ModelConfig):

    return AutoTokenizer.from_pretrained(path, revision=cfg.revision, trust_remote_code=cfg.trust_remote_code)


def load_classifier(cfg: ModelConfig, labels: list[str], quantization=None):
    """(tokenizer, model) with a fresh classification head over `labels`; weights from safetensors only."""

    path, config = load_model_config(cfg)
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
