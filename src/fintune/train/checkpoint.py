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
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict

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
    elif holds_shards(state):  # this rank's own copy, shard for shard
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)
    else:  # load_state_dict, not named_parameters: a gathered state names a tied head as well
        unexpected = model.load_state_dict(state, strict=False).unexpected_keys
        if unexpected:
            raise KeyError(f"weights the model does not have: {unexpected[:3]}")


def save_checkpoint(folder: Path, model, optimizer, scheduler, loop_state: dict, dist: Distributed) -> None:
    """Every rank calls it at the same step; rank 0 writes the small files and renames the folder into place."""
    tmp = folder.with_name(folder.name + ".tmp")
    if dist.is_main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    dist.barrier()
    model_state, optim_state = get_state_dict(model, optimizer, options=TRAINABLE)
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
    model_state, optim_state = get_state_dict(model, optimizer, options=TRAINABLE)
    state = {"model": model_state, "optimizer": optim_state}
    dcp.load(state, checkpoint_id=folder / "dcp")
    set_state_dict(
        model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"], options=TRAINABLE
    )
    saved = torch.load(folder / "loop.pt", weights_only=True)
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["rng"])
    return json.loads((folder / "state.json").read_text())


def has_checkpoint(folder: Path) -> bool:
    return (folder / "state.json").exists() or (folder.with_name(folder.name + ".old") / "state.json").exists()
