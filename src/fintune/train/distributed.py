"""Training in several processes on torch.distributed, started by torchrun: data-parallel (DDP) or sharded (FSDP2).

fintune distributes nothing itself: torchrun starts the processes and sets RANK / WORLD_SIZE / LOCAL_RANK,
torch.distributed connects them (gloo for CPU tensors, NCCL for CUDA tensors) and DistributedDataParallel
averages the gradients. What lives here is the bookkeeping our own loop needs on top:

- every rank builds the same global batches (they are a pure function of seed and epoch) and trains on
  its strided slice of each one;
- `strategy` says how ranks share the model: `ddp` gives each a whole copy, `fsdp` a shard (sharding.py);
- DDP (and FSDP, reduce-scattering) averages gradients with equal weight per rank, so each rank scales its mean loss by
  world_size * (its share of the batch's loss denominator). The average is then exactly the gradient of
  the single-process mean loss, also when slices differ in size (odd batch sizes, the last batch of an
  epoch) or the loss is a weighted mean (class weights, answer tokens of causal LMs);
- rank 0 alone writes (run folder, logs, report) and evaluates; the others get its answer. Under FSDP no rank
  holds the whole model, so every rank runs validation in step (each forward gathers the layers) and rank 0's
  scores are the ones used; checkpoints are written by all ranks together (checkpoint.py).

`Distributed()` is one plain process: every method is then a no-op and the loop runs exactly as before.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import parse_args, run
from torch.nn.parallel import DistributedDataParallel

from fintune.errors import FintuneError
from fintune.train.sharding import shard_model

ERROR_DIR = "FINTUNE_LAUNCH_ERRORS"
"""Variable naming the folder where workers started by `launch` leave a FintuneError for it to print once."""
TIMEOUT = datetime.timedelta(hours=2)
"""How long ranks wait for each other: rank 0 evaluates alone while the others wait at a broadcast. A crashed
rank does not leave the others hanging this long; torchrun stops every worker when one fails."""


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    strategy: str = "none"
    """none (one process), ddp or fsdp: see `resolve_strategy`."""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def sharded(self) -> bool:
        return self.strategy == "fsdp"

    def wrap(self, model, precision: str = "fp32"):
        """The model to run forward/backward through: DDP around it, the model itself sharded in place (FSDP),
        or the model itself for one process.

        Keep `model` for everything else (checkpoints, evaluation, saving): under DDP names then carry no
        `module.` prefix and a checkpoint loads into any number of processes.
        """
        if not self.enabled:
            return model
        if self.sharded:
            return shard_model(model, precision)

        device = next(model.parameters()).device
        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def shard(self, batch: list[int], denominator) -> tuple[list[int], float]:
        """(this rank's examples of a global batch, the factor its mean loss is scaled by before backward).

        `denominator(idx)` is what the model's loss divides by for examples `idx` (their count, their class
        weights, their answer tokens). A rank left without examples (a batch smaller than the world) runs one
        example at factor 0, because DDP needs every rank in every backward.
        """
        if not self.enabled:
            return batch, 1.0
        mine = batch[self.rank :: self.world_size]  # strided: length-sorted batches split evenly in padding
        if not mine:
            return batch[:1], 0.0
        return mine, self.world_size * denominator(mine) / denominator(batch)

    def no_sync(self, wrapped, sync: bool):
        """Skip the gradient all-reduce on all but the last micro-batch of an accumulation group."""
        if not self.enabled or sync:
            return contextlib.nullcontext()
        if self.sharded:
            return _fsdp_no_sync(wrapped)
        return wrapped.no_sync()

    def mean_loss(self, local: float) -> float:
        """The global batch's loss from each rank's scaled share of it (the sum over ranks, divided by N)."""
        if not self.enabled:
            return local
        value = torch.tensor([local / self.world_size], dtype=torch.float64)
        torch.distributed.all_reduce(value)
        return value.item()

    def from_main(self, fn, *args):
        """`fn(*args)` computed on rank 0 only; every rank returns rank 0's result."""
        if not self.enabled:
            return fn(*args)
        box = [fn(*args) if self.is_main else None]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def agreed(self, fn, *args):
        """`fn(*args)` as every rank must see it: rank 0's result. Under FSDP every rank computes it (a forward
        needs them all); otherwise rank 0 alone does."""
        if not self.sharded:
            return self.from_main(fn, *args)
        box = [fn(*args)]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def gathered(self, value) -> list:
        """[value of rank 0, of rank 1, ...] on every rank."""
        if not self.enabled:
            return [value]
        values = [None] * self.world_size
        torch.distributed.all_gather_object(values, value)
        return values

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()


@contextlib.contextmanager
def _fsdp_no_sync(model):
    model.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        model.set_requires_gradient_sync(True)


def resolve_strategy(strategy: str, world_size: int) -> str:
    """train.strategy for a job of `world_size` processes: one process is plain whatever was asked (so a sharded
    run resumes in one process), auto is ddp for several."""
    if world_size == 1:
        return "none"
    if strategy == "none":
        raise FintuneError(f"train.strategy 'none' means one process; this job has {world_size}: use ddp or fsdp")
    return "ddp" if strategy == "auto" else strategy


def from_env(strategy: str = "auto") -> Distributed:
    """This process's place in a torchrun job, read from the variables torchrun sets; one process without them."""
    if "WORLD_SIZE" not in os.environ:
        return Distributed()
    try:
        rank, world, local = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    except (KeyError, ValueError):
        raise FintuneError("WORLD_SIZE is set but RANK / LOCAL_RANK are not: start with torchrun or --nproc") from None
    return Distributed(rank, world, local, resolve_strategy(strategy, world))


@contextlib.contextmanager
def session(strategy: str = "auto") -> Iterator[Distributed]:
    """Join the torchrun job (if any) for the duration of the block, then leave it."""
    dist = from_env(strategy)
    if not dist.enabled:
        yield dist
        return
    if torch.cuda.is_available():
        if dist.local_rank >= torch.cuda.device_count():
            raise FintuneError(
                f"{dist.local_rank + 1}+ processes on a machine with {torch.cuda.device_count()} GPU(s): start one "
                "process per GPU, or train on the CPU with CUDA_VISIBLE_DEVICES= (empty)"
            )
        torch.cuda.set_device(dist.local_rank)  # so "cuda" means this rank's GPU everywhere
        backend = "cpu:gloo,cuda:nccl"  # encoders train on the CPU, causal LMs on the GPU
    else:
        backend = "gloo"
    torch.distributed.init_process_group(backend=backend, timeout=TIMEOUT)
    try:
        yield dist
    finally:
        torch.distributed.destroy_process_group()


def launch(args: list[str], nproc: int) -> None:
    """Run `fintune ARGS` in `nproc` processes on this machine: `torchrun --standalone --nproc-per-node N -m
    fintune ARGS`, through torchrun's own code in this process so that a worker's FintuneError can end the
    command as usual (one line, exit 2) instead of as torchrun's traceback."""

    if "WORLD_SIZE" in os.environ:
        raise FintuneError("--nproc: this process was already started by torchrun; drop --nproc")
    # torchrun sets OMP_NUM_THREADS=1 when it is unset, which starves CPU training; share the cores instead
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, len(os.sched_getaffinity(0)) // nproc)))
    with tempfile.TemporaryDirectory() as errors:
        os.environ[ERROR_DIR] = errors  # inherited by the workers: see `report_error`
        try:
            run(parse_args(["--standalone", f"--nproc-per-node={nproc}", "-m", "fintune", *args]))
        except ChildFailedError as e:
            reported = sorted(Path(errors).iterdir())
            if reported:
                raise FintuneError(reported[0].read_text(encoding="utf-8")) from None
            print(e.format_msg(), file=sys.stderr)
            raise SystemExit(1) from None
        finally:
            del os.environ[ERROR_DIR]


def report_error(error: FintuneError) -> bool:
    """In a worker started by `launch`: hand the error to the launcher, which prints it once; False elsewhere."""
    folder = os.environ.get(ERROR_DIR)
    if not folder:
        return False
    (Path(folder) / f"rank{os.environ.get('RANK', 0)}").write_text(str(error), encoding="utf-8")
    return True
