"""Mixed precision: bf16 autocast where the hardware does bf16 natively, fp32 elsewhere.

On CPUs with AVX512-BF16 or AMX, bf16 autocast trains faster (benchmarks/RESULTS.md); weights and optimizer
state stay fp32.
"""

from __future__ import annotations

import contextlib

import torch

from fintune.errors import FintuneError


def bf16_available(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(setting: str, device: torch.device) -> str:
    """'auto' -> 'bf16' when supported, else 'fp32'; an explicit 'bf16' without support is an error."""
    if setting == "auto":
        return "bf16" if bf16_available(device) else "fp32"
    if setting == "bf16" and not bf16_available(device):
        raise FintuneError(f"train.precision=bf16 but this {device.type} has no native bf16; use auto or fp32")
    return setting


def autocast(precision: str, device: torch.device):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
