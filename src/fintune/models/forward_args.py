"""Which keyword arguments a model's forward takes, looking through the DDP and PEFT wrappers.

transformers-native causal LMs take `logits_to_keep` and (since transformers 5) `cache`; models that ship their own
code (Baichuan2, ChatGLM) often take neither, so callers ask before passing them.
"""

from __future__ import annotations

import inspect


def innermost(model):
    """The transformers model inside DistributedDataParallel and PeftModel wrappers."""
    inner = getattr(model, "module", model)  # DistributedDataParallel
    if hasattr(inner, "get_base_model"):  # PeftModel
        inner = inner.get_base_model()
    return inner


def forward_accepts(model, name: str) -> bool:
    try:
        return name in inspect.signature(innermost(model).forward).parameters
    except (TypeError, ValueError):
        return False
