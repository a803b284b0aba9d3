"""Sentence representation for the classification head: the [CLS] pooler, or the masked token mean.

Sentence-transformers checkpoints such as the bundled all-MiniLM-L6-v2 were trained so that the
mean of the token states is the sentence embedding; their [CLS] pooler was never trained (the
bundled one is all zeros). For them the head reads the masked mean, as the model card prescribes.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import torch
from torch import nn

_state = threading.local()  # the attention mask of the forward pass running on this thread


class MeanPooler(nn.Module):
    """Drop-in for BERT's pooler: mean of the last hidden states over non-padding tokens."""

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        mask = getattr(_state, "mask", None)
        if mask is None or mask.shape != hidden_states.shape[:2]:
            return hidden_states.mean(dim=1)
        weights = mask.unsqueeze(-1).to(hidden_states.dtype)
        return (hidden_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def _remember_mask(module, args, kwargs):
    _state.mask = kwargs.get("attention_mask")


def sentence_transformers_pooling(model_dir: str) -> str | None:
    """'mean' or 'cls' when `model_dir` is a sentence-transformers checkpoint that says so."""
    config = Path(model_dir) / "1_Pooling" / "config.json"
    if not config.is_file():
        return None
    modes = json.loads(config.read_text(encoding="utf-8"))
    if modes.get("pooling_mode_mean_tokens"):
        return "mean"
    return "cls" if modes.get("pooling_mode_cls_token") else None


def resolve_pooling(setting: str, model_dir: str) -> str:
    if setting != "auto":
        return setting
    return sentence_transformers_pooling(model_dir) or "cls"


def use_mean_pooling(model) -> bool:
    """Swap the pooler of a BERT-style classifier for MeanPooler; False if the model has no pooler."""
    base = getattr(model, model.base_model_prefix, None)
    if base is None or getattr(base, "pooler", None) is None:
        return False
    base.pooler = MeanPooler()
    base.register_forward_pre_hook(_remember_mask, with_kwargs=True)
    return True
