"""FSDP2: a causal LM's parameters, gradients and optimizer state sharded across the ranks of a torchrun job.

PyTorch does the sharding (`fully_shard`); fintune only says where the units are and gathers the trained
weights back. The units are the model's decoder layers (the classes transformers names in `_no_split_modules`,
the blocks it never splits across devices), plus the root for the embeddings, final norm and head. Each unit's
weights are all-gathered for its forward and backward and freed after, so a rank holds about 1/N of the model
outside the one layer it is computing.

Gradients are reduce-scattered as a mean over ranks, as DDP all-reduces them, so the loss scaling of
`Distributed.shard` keeps the result equal to one process's.
"""

from __future__ import annotations

import torch
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict, set_model_state_dict
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor

from fintune.errors import FintuneError

FSDP_METHODS = ("lora", "lora_plus", "rslora", "dora", "pissa", "full", "freeze")
"""Methods trained here under FSDP2 (tests/train/test_fsdp.py). qlora is refused: bitsandbytes' packed 4-bit
weights are not tensors `fully_shard` can split."""


def check_fsdp(kind: str, method: str) -> None:
    if kind != "causal":
        raise FintuneError(
            "train.strategy 'fsdp' shards causal LMs by decoder layer; an encoder fits one device: use ddp"
        )
    if method not in FSDP_METHODS:
        raise FintuneError(f"train.strategy 'fsdp' supports adapter.method {', '.join(FSDP_METHODS)}; not '{method}'")


def shard_model(model: torch.nn.Module, precision: str) -> torch.nn.Module:
    """Shard `model` in place (it stays the same object, now an FSDPModule) and return it.

    With bf16 precision the gathered weights are cast to bf16 for compute and gradients are reduced in fp32
    (the usual mixed-precision policy); with fp32 nothing is cast, so the run is one process's, sharded.
    """
    policy = (
        MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if precision == "bf16" else None
    )
    kwargs = {"mp_policy": policy} if policy else {}
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model  # PEFT wraps the transformers model
    unit_classes = set(getattr(inner, "_no_split_modules", None) or [])
    units = [m for m in inner.modules() if type(m).__name__ in unit_classes]
    if not units:
        raise FintuneError(f"train.strategy 'fsdp': no decoder layers found in {type(inner).__name__}")
    for unit in units:
        fully_shard(unit, **kwargs)
    fully_shard(model, **kwargs)
    return model


def is_sharded(model: torch.nn.Module) -> bool:
    return isinstance(model, FSDPModule)


def reshard(model: torch.nn.Module) -> None:
    """Put every unit back into its shards. The root keeps its gathered weights after a forward (FSDP2 expects
    the backward to need them again), so after an evaluation its parameters are whole tensors until this."""
    for module in model.modules():
        if isinstance(module, FSDPModule):
            module.reshard()


def full_trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The trainable weights as whole CPU tensors on rank 0 (an empty dict on the others). A collective: every
    rank calls it at the same point."""
    options = StateDictOptions(full_state_dict=True, cpu_offload=True, ignore_frozen_params=True)
    return get_model_state_dict(model, options=options)


def load_full_trainable_state(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Whole tensors (every rank holds the same ones) into a sharded model: each rank keeps its own shard."""
    set_model_state_dict(model, state, options=StateDictOptions(full_state_dict=True, strict=False))


def holds_shards(state: dict[str, torch.Tensor]) -> bool:
    return any(isinstance(v, DTensor) for v in state.values())
