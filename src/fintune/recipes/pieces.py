"""The steps every recipe shares: set a run up, load and adapt the model, train it, write the finished folder.

A recipe (classify.py, trend.py, forecast.py, signal.py) reads top to bottom as calls into these and into the
packages that own each step; nothing here knows which task it serves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from rich.console import Console

from fintune.config import RunConfig
from fintune.errors import FintuneError
from fintune.methods import apply_method, build_optimizer, trainable_counts
from fintune.models.artifacts import save_trained
from fintune.models.availability import check_model_reachable
from fintune.models.causal import load_causal
from fintune.models.encoder import load_classifier
from fintune.models.loading import load_model_config, model_kind
from fintune.models.precision import resolve_precision
from fintune.progress import status_console
from fintune.provenance import meta_block
from fintune.report.plots import loss_plot
from fintune.train.checkpoint import load_trainable_state
from fintune.train.distributed import Distributed, resolve_strategy
from fintune.train.loop import EvalCost, LoopState, train_loop, train_summary
from fintune.train.memory import reset_peak_rss
from fintune.train.rundir import RunDir
from fintune.train.sharding import check_fsdp, full_trainable_state
from fintune.train.tracking import check_tracking, open_tracker


@dataclass(frozen=True)
class RunOptions:
    """How a recipe runs its config: resuming, with or without the test split, where it reports, which rank."""

    resume: bool = False
    with_test: bool = True
    """False for `fintune train`: validation metrics and weights only."""
    console: Console | None = None
    dist: Distributed | None = None


@dataclass
class Run:
    """One run in progress: its config, folder, process role, console and the clock of its phases."""

    cfg: RunConfig
    folder: RunDir
    dist: Distributed
    console: Console
    resume: bool
    with_test: bool = True
    started: float = field(default_factory=time.perf_counter)
    trained_from: float = 0.0
    evaluated_from: float = 0.0
    tracker: object = None

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    @property
    def label(self) -> str:
        return f"{Path(self.cfg.model.path).name} + {self.cfg.adapter.method}"


@dataclass
class Model:
    """The model a run trains: its kind (encoder or causal), tokenizer, the adapted model, parameter counts."""

    kind: str
    tokenizer: object
    module: torch.nn.Module
    trainable: int
    total: int


def setup_run(cfg: RunConfig, options: RunOptions) -> Run:
    """Seeds, threads and a checked (not yet opened) run folder: bad input stops here, leaving nothing behind."""
    dist, resume = options.dist or Distributed(), options.resume
    console = (options.console or status_console()) if dist.is_main else Console(stderr=True, quiet=True)
    reset_peak_rss()  # the run's own peak, not an earlier run's in the same process (a sweep)
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    torch.manual_seed(cfg.train.seed)  # the head and adapter initialisation depend on it
    folder = RunDir(cfg)
    folder.check(resume)
    check_tracking(cfg.tracking)
    check_model_reachable(
        cfg.model
    )  # in seconds, before the data is read: offline, the hub client retries for a minute
    return Run(cfg, folder, dist, console, resume, options.with_test)


def check_strategy(cfg: RunConfig, world_size: int) -> None:
    """Refuse a train.strategy that cannot run this config in `world_size` processes, before any starts."""
    if resolve_strategy(cfg.train.strategy, world_size) == "fsdp":
        check_fsdp(model_kind(cfg.model, load_model_config(cfg.model)[1]), cfg.adapter.method)


def load_model(run: Run, labels: list[str] | None = None, causal_only: str = "") -> Model:
    """An encoder with a fresh head over `labels`, or a causal LM that writes its answers; the method applied.
    `causal_only`: the reason an encoder cannot do this task (then one is refused with it)."""
    cfg = run.cfg
    _, config = load_model_config(cfg.model)
    kind = model_kind(cfg.model, config)
    if kind != "causal" and causal_only:
        raise FintuneError(f"model.path '{cfg.model.path}' is an encoder; {causal_only}")
    if kind == "causal" and cfg.train.class_weights:
        raise FintuneError("train.class_weights applies to encoder classifiers, not causal LMs")
    if run.dist.sharded:
        check_fsdp(kind, cfg.adapter.method)
    tokenizer, model = _adapted(cfg, kind, labels)
    trainable, total = trainable_counts(model)
    run.console.print(
        f"model '{cfg.model.path}' with {cfg.adapter.method}: {trainable:,} of {total:,} parameters train"
    )
    return Model(kind, tokenizer, model, trainable, total)


def _adapted(cfg: RunConfig, kind: str, labels: list[str] | None):
    """(tokenizer, model with the method applied); the same seed gives the same adapter initialisation."""
    tokenizer, model = load_causal(cfg.model, cfg.adapter) if kind == "causal" else load_classifier(cfg.model, labels)
    if cfg.train.gradient_checkpointing:
        # non-reentrant checkpointing also works when the embeddings are frozen (adapters)
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return tokenizer, apply_method(model, cfg.adapter, causal=kind == "causal")


def open_run(run: Run) -> None:
    """Create the run's working folder (the main process) and its tracker; every rank waits until it exists."""
    if run.is_main:
        run.folder.open(run.resume, say=run.console.print)
        run.tracker = open_tracker(run.cfg, run.folder.path, run.resume)  # a no-op unless tracking is on
    run.dist.barrier()


def train(
    run: Run,
    model: Model,
    data,
    validate: Callable[[object], dict],
    select: tuple[str, bool],
    eval_cost: EvalCost | None = None,
) -> LoopState:
    """Train (nothing for a zero-shot run), keeping the best epoch by `select` = (metric, higher is better).

    Under FSDP no rank holds the whole model, and evaluating, predicting and saving want it on rank 0: the trained
    weights are gathered there into a fresh unsharded copy, which replaces `model.module` (None on other ranks).
    """
    run.trained_from = time.perf_counter()
    if run.cfg.adapter.method == "none":
        state = LoopState()
    else:
        state = train_loop(
            model.module,
            lambda module: build_optimizer(module, run.cfg),
            data,
            run.cfg.train,
            validate,
            select,
            run.folder.work,
            run.resume,
            run.console,
            precision(run, model),
            run.tracker,
            run.dist,
            eval_cost,
        )
        if run.dist.sharded:
            _gather_on_main(run, model)
    run.evaluated_from = time.perf_counter()
    return state


def _gather_on_main(run: Run, model: Model) -> None:
    whole = full_trainable_state(model.module)  # a collective: every rank takes part, rank 0 receives
    model.module = None
    if run.is_main:
        _, model.module = _adapted(run.cfg, model.kind, None)
        load_trainable_state(model.module, whole)


def precision(run: Run, model: Model) -> str:
    """fp32 or bf16 (autocast), as train.precision asks and the model's device allows."""
    return resolve_precision(run.cfg.train.precision, next(model.module.parameters()).device)


def summary_blocks(run: Run, model: Model, state: LoopState, select_metric: str, fingerprints: dict, **extra) -> dict:
    """The `train` and `meta` blocks of metrics.json."""
    cfg = run.cfg
    times = (run.started, run.trained_from, run.evaluated_from, time.perf_counter())
    return {
        "train": train_summary(
            state,
            model.trainable,
            model.total,
            precision(run, model),
            times,
            select_metric=select_metric,
            model_kind=model.kind,
            **extra,
        ),
        "meta": meta_block(cfg.train.seed, fingerprints),
    }


def finish_run(run: Run, model: Model, metrics: dict, state: LoopState, write_rest: Callable[[Path], None]) -> Path:
    """Weights (unless zero-shot: the base model is the run), metrics.json, the loss log and plot, whatever the
    recipe writes in `write_rest(folder)`; then the folder is renamed into place and becomes a finished run."""
    folder = run.folder.path
    if run.cfg.adapter.method != "none":
        save_trained(model.module, model.tokenizer, folder)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    (folder / "train_log.json").write_text(json.dumps(state.losses), encoding="utf-8")
    loss_plot(state.losses, state.evals, folder / "plots" / "loss.png", f"{run.cfg.name}: loss")
    write_rest(folder)
    run.tracker.log_summary(metrics, state.step)
    run.tracker.close()  # before the rename: TensorBoard writes into the run folder
    return run.folder.finish()
