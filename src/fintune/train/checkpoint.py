"""Resumable training state: trainable weights, optimizer, scheduler, RNG and loop position.

Weights and optimizer go through torch.distributed.checkpoint (DCP): every rank writes its own part (its shards
under FSDP; replicated tensors once, under DDP or one process) and a reader with any number of processes takes
what it needs, so a run killed in 2 processes resumes in 1, or the other way round, whatever the strategy. The
state dicts are keyed by parameter names (get_state_dict), which are the same sharded, replicated or plain.
Under several nodes the run folder must be on storage every node sees.

Written to a temporary folder and renamed, so a `kill -9` mid-write leaves the previous checkpoint intact. The
rest is tensors and JSON, so loading uses `weights_only=True`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from fintune.train.distributed import Distributed
from fintune.train.sharding import holds_shards, is_sharded, load_full_trainable_state, reshard

TRAINABLE = StateDictOptions(ignore_frozen_params=True, strict=False)
"""The frozen base weights come from the model itself at every start; a checkpoint holds what training changed."""


def trainable_state(model) -> dict[str, torch.Tensor]:
    """A copy of the trainable weights as they are (this rank's shards under FSDP)."""
    if is_sharded(model):
        reshard(model)
    return {n: p.detach().clone().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model, state: dict[str, torch.Tensor]) -> None:
    """`state` from trainable_state, or whole tensors (a file) for a model that may be sharded."""
    if is_sharded(model) and not holds_shards(state):
        load_full_trainable_state(model, state)
        return
    # remove_duplicate=False: a gathered state also names a tied head (lm_head.weight beside the embeddings)
    params = dict(model.named_parameters(remove_duplicate=False))
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


def _model_state(model) -> dict[str, torch.Tensor]:
    """The trainable weights by name, the names get_model_state_dict gives. Unsharded, they are read from the
    parameters directly: get_model_state_dict of a bitsandbytes 4-bit model perturbed it (QLoRA's predictions
    moved by 2e-4 after a checkpoint, tests/models/test_qlora_cpu.py)."""
    if is_sharded(model):
        return get_model_state_dict(model, options=TRAINABLE)
    return trainable_state(model)


def save_checkpoint(folder: Path, model, optimizer, scheduler, loop_state: dict, dist: Distributed) -> None:
    """Every rank calls it at the same step; rank 0 writes the small files and renames the folder into place."""
    tmp = folder.with_name(folder.name + ".tmp")
    if dist.is_main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    dist.barrier()
    model_state, optim_state = _model_state(model), get_optimizer_state_dict(model, optimizer, options=TRAINABLE)
    dcp.save({"model": model_state, "optimizer": optim_state}, checkpoint_id=tmp / "dcp")
    if dist.is_main:
        torch.save({"scheduler": scheduler.state_dict(), "rng": torch.get_rng_state()}, tmp / "loop.pt")
        (tmp / "state.json").write_text(json.dumps(loop_state))
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    dist.barrier()  # nobody goes on (or is killed) believing in a checkpoint that is not in place yet


def load_checkpoint(folder: Path, model, optimizer, scheduler) -> dict:
    if not folder.exists() and folder.with_name(folder.name + ".old").exists():
        folder = folder.with_name(folder.name + ".old")  # killed between the two renames
    # the current state is the template DCP reads into: its names, shapes and this rank's shards
    state = {"model": _model_state(model), "optimizer": get_optimizer_state_dict(model, optimizer, options=TRAINABLE)}
    dcp.load(state, checkpoint_id=folder / "dcp")
    if is_sharded(model):
        set_model_state_dict(model, state["model"], options=TRAINABLE)
    else:
        load_trainable_state(model, state["model"])
    set_optimizer_state_dict(model, optimizer, state["optimizer"], options=TRAINABLE)
    saved = torch.load(folder / "loop.pt", weights_only=True)
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["rng"])
    return json.loads((folder / "state.json").read_text())


def has_checkpoint(folder: Path) -> bool:
    return (folder / "state.json").exists() or (folder.with_name(folder.name + ".old") / "state.json").exists()
