"""The training loop: exact resume, validation each epoch, best-epoch selection, early stopping.

Everything that decides what the model sees (batch order, dropout RNG, optimizer and
scheduler state) is checkpointed or derived from (seed, epoch), so a run killed at any point
and resumed ends bit-for-bit where an uninterrupted run ends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from rich.console import Console
from safetensors.torch import load_file, save_file
from transformers import get_linear_schedule_with_warmup

from fintune.config import TrainConfig
from fintune.models.precision import autocast
from fintune.progress import Estimate, phase, progress_bar, status_console
from fintune.train.answer_loss import answer_loss
from fintune.train.batching import EncodedTexts, epoch_batches
from fintune.train.checkpoint import (
    has_checkpoint,
    load_checkpoint,
    load_trainable_state,
    save_checkpoint,
    trainable_state,
)
from fintune.train.distributed import Distributed
from fintune.train.memory import peak_rss_mb, reset_peak_rss
from fintune.train.sharding import full_trainable_state
from fintune.train.tracking import Tracker


@dataclass
class EvalCost:
    """Seconds of one validation pass and of the test evaluation, as the recipe measured them on a few texts."""

    validation_s: float
    test_s: float


@dataclass
class LoopState:
    step: int = 0
    epoch: int = 0
    next_group: int = 0
    elapsed_s: float = 0.0
    samples: int = 0
    tokens: int = 0
    best_score: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    stopped_early: bool = False
    losses: list = field(default_factory=list)
    """(step, epoch, training loss) per optimizer step."""
    evals: list = field(default_factory=list)
    """Validation metrics after each epoch, with step and epoch."""
    val_curve: list = field(default_factory=list)
    """(step, training seconds so far, validation loss) every `eval_steps` and at each epoch end."""
    memory_mb: list = field(default_factory=list)
    """Per rank: peak resident MiB up to the start of training (loading, sharding) and during training."""


def train_loop(
    model,
    make_optimizer: Callable[[torch.nn.Module], torch.optim.Optimizer],
    data: EncodedTexts,
    cfg: TrainConfig,
    evaluate: Callable[[object], dict],
    select: tuple[str, bool],
    work_dir: Path,
    resume: bool = False,
    console: Console | None = None,
    precision: str = "fp32",
    tracker: Tracker | None = None,
    dist: Distributed | None = None,
    eval_cost: EvalCost | None = None,
) -> LoopState:
    """Train `model` in place and leave it holding the weights of its best validation epoch.

    `make_optimizer(model)` is called once the model is wrapped (FSDP replaces the parameters by their shards);
    `select` is (metric name, higher is better); `work_dir` receives the checkpoint and best weights;
    `tracker` (optional) also receives the training loss per step and the validation scores. Under torchrun,
    `dist` says which rank this is: each optimizer step still consumes one global batch of `cfg.batch_size`,
    split across ranks, and only rank 0 writes or evaluates (the others receive its scores; under FSDP all
    evaluate in step, see distributed.py). `eval_cost` (optional) lets the estimate line count the evaluation
    still to come.
    """

    console = console or status_console()
    tracker = tracker or Tracker()  # no backends: every call returns at once
    dist = dist or Distributed()
    # DDP for forward/backward, `model` staying unwrapped for state and evaluation; FSDP shards `model` itself
    forward = dist.wrap(model, precision)
    optimizer = make_optimizer(model)
    setup_peak = peak_rss_mb()
    reset_peak_rss()  # from here the peak is training's: what sharding saves shows there, not in loading
    evaluate = _agreed(dist, evaluate)
    metric, higher_better = select
    groups_per_epoch, total = planned_steps(cfg, len(data))
    n_epochs = math.ceil(total / groups_per_epoch)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)
    console.print(plan_line(cfg, len(data)))
    ckpt, best_file = work_dir / "checkpoint", work_dir / "best.safetensors"
    state = LoopState()
    if resume and has_checkpoint(ckpt):
        state = LoopState(**load_checkpoint(ckpt, model, optimizer, scheduler))
        console.print(f"resuming at step {state.step}/{total} (epoch {state.epoch + 1})")
    best = load_file(best_file) if resume and best_file.exists() and state.best_epoch is not None else None

    params = [p for p in model.parameters() if p.requires_grad]
    device = params[0].device
    after = None
    if eval_cost is not None:

        def after(step: int) -> float:  # validations at each epoch end and every eval_steps, then the test
            ticks = (total - 1) // cfg.eval_steps - step // cfg.eval_steps if cfg.eval_steps else 0
            return (n_epochs - state.epoch + ticks) * eval_cost.validation_s + eval_cost.test_s

    estimate = Estimate("training", total, state.step, after)
    with progress_bar("train", total, "steps", enabled=dist.is_main, done=state.step, console=console) as advance:
        while state.step < total and state.epoch < n_epochs and not state.stopped_early:
            batches = epoch_batches(data, cfg.batch_size, cfg.seed, state.epoch, cfg.group_by_length)
            acc = cfg.gradient_accumulation_steps
            groups = [batches[i : i + acc] for i in range(0, len(batches), acc)]
            t0 = time.perf_counter()
            for g in range(state.next_group, len(groups)):
                model.train()
                loss_sum = 0.0
                for m, micro in enumerate(groups[g]):
                    mine, factor = dist.shard(micro, data.loss_denominator)
                    with dist.no_sync(forward, sync=m == len(groups[g]) - 1):
                        with autocast(precision, device):
                            batch = {k: v.to(device) for k, v in data.collate(mine).items()}
                            loss = _loss(forward, batch, getattr(data, "class_weights", None))
                        ((loss if factor == 1.0 else loss * factor) / len(groups[g])).backward()
                    loss_sum += loss.item() * factor / len(groups[g])
                    state.samples += len(micro)  # counts the global batch, so samples/s is the job's throughput
                    state.tokens += data.n_tokens(micro)
                loss_sum = dist.mean_loss(loss_sum)
                if cfg.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                state.step += 1
                state.next_group = g + 1
                state.losses.append((state.step, state.epoch, round(loss_sum, 6)))
                tracker.log_metrics("train", {"loss": loss_sum, "lr": scheduler.get_last_lr()[0]}, state.step)
                advance(1, note=f"loss {loss_sum:.4f}")
                if dist.is_main and (line := estimate.line(state.step)):
                    console.print(line)
                if state.step >= total:
                    break
                if cfg.eval_steps and state.step % cfg.eval_steps == 0:
                    state.elapsed_s += time.perf_counter() - t0  # the clock counts training only
                    _record_val_loss(state, evaluate(model)["loss"])
                    tracker.log_metrics("validation", {"loss": state.val_curve[-1][2]}, state.step)
                    t0 = time.perf_counter()
                if state.step % cfg.save_steps == 0:
                    state.elapsed_s += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    save_checkpoint(ckpt, model, optimizer, scheduler, state.__dict__, dist)
            state.elapsed_s += time.perf_counter() - t0
            cut_short = state.next_group < len(groups)  # max_steps ended the run inside this epoch
            best = _end_of_epoch(
                model, state, evaluate, metric, higher_better, cfg, best, best_file, console, dist, cut_short
            )
            tracker.log_metrics("validation", state.evals[-1], state.step)
            state.epoch += 1
            state.next_group = 0
            save_checkpoint(ckpt, model, optimizer, scheduler, state.__dict__, dist)
    state.memory_mb = dist.gathered({"setup": setup_peak, "training": peak_rss_mb()})
    if best is not None:
        load_trainable_state(model, best)
    return state


def train_summary(
    state: LoopState, trainable: int, total: int, precision: str, times: tuple[float, ...], **extra
) -> dict:
    """The `train` block of metrics.json common to every recipe; `times` are perf_counter() readings at the
    start, when training began, when it ended and when evaluation ended; `extra` adds the recipe's own keys."""
    last = [loss for _, _, loss in state.losses[-20:]]
    return {
        "runtime_s": round(state.elapsed_s, 2),
        "samples_per_s": round(state.samples / max(state.elapsed_s, 1e-9), 2),
        "tokens_per_s": round(state.tokens / max(state.elapsed_s, 1e-9), 1),
        # this run's own peak, evaluation included (memory.py); the loop restarted the count when training began
        "peak_rss_mb": max([peak_rss_mb()] + [m["setup"] for m in state.memory_mb[:1]]),
        "peak_rss_mb_per_rank": state.memory_mb,
        "trainable_params": trainable,
        "total_params": total,
        "final_loss": round(sum(last) / max(1, len(last)), 6),
        "steps": state.step,
        "best_epoch": state.best_epoch,
        "precision": precision,
        "stopped_early": state.stopped_early,
        "evals": state.evals,
        "val_curve": state.val_curve,
        "wall_s": {
            "setup": round(times[1] - times[0], 2),
            "train": round(times[2] - times[1], 2),
            "evaluate": round(times[3] - times[2], 2),
        },
        **extra,
    }


def _loss(model, batch: dict, class_weights: torch.Tensor | None) -> torch.Tensor:
    """Causal LMs: the loss of the answer tokens from their logits alone; classifiers: the model's own loss, or
    cross-entropy with per-class weights (rare classes count for more)."""
    if "position_ids" in batch:  # EncodedInstructions: prompt + answer, left-padded
        return answer_loss(model, batch)
    if class_weights is None:
        return model(**batch).loss
    labels = batch.pop("labels")
    logits = model(**batch).logits.float()
    return torch.nn.functional.cross_entropy(logits, labels, weight=class_weights.to(logits.device))


def _agreed(dist: Distributed, evaluate: Callable[[object], dict]) -> Callable[[object], dict]:
    """Every rank gets rank 0's validation scores, so best-epoch and early-stopping agree."""
    if not dist.enabled:
        return evaluate
    return lambda model: dist.agreed(evaluate, model)


def _record_val_loss(state: LoopState, loss: float) -> None:
    if not state.val_curve or state.val_curve[-1][0] != state.step:
        state.val_curve.append((state.step, round(state.elapsed_s, 3), round(float(loss), 6)))


def planned_steps(cfg, n_examples: int) -> tuple[int, int]:
    """(optimizer steps an epoch, steps in all) for `n_examples` training examples under train config `cfg`."""
    per_epoch = math.ceil(math.ceil(n_examples / cfg.batch_size) / cfg.gradient_accumulation_steps)
    return per_epoch, cfg.max_steps or cfg.epochs * per_epoch


def plan_line(cfg, n_examples: int) -> str:
    """What training will do, before it starts: steps, epochs, batch, and what ends it."""
    groups_per_epoch, total = planned_steps(cfg, n_examples)
    batch = f"batch {cfg.batch_size}" + (
        f" x {cfg.gradient_accumulation_steps} accumulated" if cfg.gradient_accumulation_steps > 1 else ""
    )
    if cfg.max_steps:
        ends = f"max_steps {cfg.max_steps} ({cfg.max_steps / groups_per_epoch:.2f} epochs)"
    else:
        ends = f"{cfg.epochs} epoch(s)"
    checks = f"validation every {cfg.eval_steps} steps and" if cfg.eval_steps else "validation"
    return (
        f"plan: {total:,} steps of {batch} over {n_examples:,} training examples ({groups_per_epoch:,} steps an "
        f"epoch), ends at {ends}; {checks} at each epoch end; checkpoint every {cfg.save_steps} steps"
    )


def _end_of_epoch(model, state, evaluate, metric, higher_better, cfg, best, best_file, console, dist, cut_short):
    with phase(f"epoch {state.epoch + 1}: validation", console, min_report_s=float("inf")):  # the epoch line follows
        scores = evaluate(model)
    state.evals.append({"epoch": state.epoch + 1, "step": state.step, **scores})
    _record_val_loss(state, scores["loss"])
    score = scores[metric]
    improved = state.best_score is None or (score > state.best_score if higher_better else score < state.best_score)
    if improved:
        state.best_score, state.best_epoch, state.bad_epochs = score, state.epoch + 1, 0
        best = trainable_state(model)  # every rank keeps its own copy (its shards under FSDP) in memory
        whole = full_trainable_state(model) if dist.sharded else best  # gathering is a collective: all ranks
        if dist.is_main:
            save_file(whole, best_file)
    else:
        state.bad_epochs += 1
        if cfg.early_stopping_patience and state.bad_epochs >= cfg.early_stopping_patience:
            state.stopped_early = True
    recent = [loss for _, e, loss in state.losses if e == state.epoch]
    train_loss = sum(recent) / max(1, len(recent))
    where = f"stopped at step {state.step} of epoch {state.epoch + 1} (max_steps)" if cut_short else ""
    console.print(
        (where or f"epoch {state.epoch + 1}")
        + f": train loss {train_loss:.4f}, validation loss {scores['loss']:.4f}"
        + ("" if metric == "loss" else f", {metric} {score:.4f}")
        + (" (best)" if improved else "")
        + ("; stopping early" if state.stopped_early else "")
    )
    return best
