"""Batched class probabilities, texts sorted by length so each batch pads to little."""

from __future__ import annotations

import numpy as np
import torch


@torch.inference_mode()
def predict_proba(model, tokenizer, texts: list[str], batch_size: int = 128, max_length: int = 128) -> np.ndarray:
    """Softmax probabilities, shape (len(texts), num_labels), in the order of `texts`."""
    model.eval()
    lengths = [len(t) for t in texts]
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    device = next(model.parameters()).device
    for start in range(0, len(texts), batch_size):
        idx = order[start : start + batch_size]
        enc = tokenizer(
            [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        ).to(device)
        logits = model(**enc).logits.float()
        out[idx] = torch.softmax(logits, dim=-1).cpu().numpy()
    return out
