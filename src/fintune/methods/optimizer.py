"""AdamW parameter groups: no decay on biases and norms, and LoRA+'s faster B matrices."""

from __future__ import annotations

import torch

from fintune.config import RunConfig


def build_optimizer(model, cfg: RunConfig) -> torch.optim.Optimizer:
    lr = cfg.train.resolved_learning_rate(cfg.adapter.method)
    b_lr = lr * cfg.adapter.loraplus_lr_ratio if cfg.adapter.method == "lora_plus" else lr
    groups: dict[tuple[float, float], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        no_decay = p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
        group_lr = b_lr if "lora_B" in name else lr
        groups.setdefault((group_lr, 0.0 if no_decay else cfg.train.weight_decay), []).append(p)
    params = [{"params": ps, "lr": g_lr, "weight_decay": wd} for (g_lr, wd), ps in groups.items()]
    return torch.optim.AdamW(params, lr=lr)
