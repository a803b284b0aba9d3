"""The labelled-text steps that classify, trend and signal share: labelled splits in, a label per text out.

prepare() loads the splits and the model, fit() trains it choosing the epoch on validation, evaluate() scores
validation and test beside the baselines on the very same split, write() saves the folder and prints the table.
A recipe adds its own measurements (a backtest, a sentiment index, a decision threshold) between the last two.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fintune.config import RunConfig
from fintune.data import load_splits
from fintune.data.dataset import LabeledSplits
from fintune.data.prompts import PromptTemplate
from fintune.data.union import DATASET_COLUMN
from fintune.errors import FintuneError
from fintune.eval.baselines import run_baselines
from fintune.eval.benchmark_table import benchmark_frame, print_benchmark
from fintune.eval.calibration import calibration_report
from fintune.eval.classify import evaluate_split, predictions_frame, scored_split
from fintune.eval.generate import generate_and_parse
from fintune.eval.run_eval import benchmark_block
from fintune.eval.threshold import at_cut, decide, ranking_scores
from fintune.inference.calibration import content_free_prior
from fintune.inference.predictor import Predictor
from fintune.inference.probabilities import probability_fn
from fintune.models.pooling import resolve_pooling
from fintune.models.registry import resolve_model_path
from fintune.progress import phase
from fintune.recipes.pieces import (
    Model,
    Run,
    RunOptions,
    finish_run,
    load_model,
    open_run,
    setup_run,
    summary_blocks,
    train,
)
from fintune.report.html import write_report
from fintune.report.plots import confusion_matrix_plot, pr_curve_plot
from fintune.report.table import SUBSET_NOTE, positive_class_line, print_results, subset_block
from fintune.train.batching import EncodedInstructions, EncodedTexts
from fintune.train.loop import EvalCost, LoopState


@dataclass
class LabelledRun:
    run: Run
    splits: LabeledSplits
    model: Model
    probs_of: Callable[[list[str]], np.ndarray]
    """texts -> probabilities in `labels` order (label scoring for causal LMs)."""
    validation_probs: np.ndarray | None = None
    """The kept weights' validation probabilities when fit() measured them at the end of training (see fit)."""

    @property
    def labels(self) -> list[str]:
        return self.splits.labels


@dataclass
class Evaluated:
    """What evaluate() measured: the metrics.json blocks, and the test probabilities and predictions behind them."""

    metrics: dict
    test_probs: np.ndarray | None = None
    predictions: pd.DataFrame | None = None


def prepare(cfg: RunConfig, options: RunOptions, removed: Callable[[dict], str]) -> LabelledRun:
    """Splits and model, checked before the folder opens. `removed(stats)` says what the split dropped."""
    run = setup_run(cfg, options)
    splits = load_splits(cfg.data, teacher=Predictor.load)
    if cfg.eval.threshold != "argmax" and len(splits.labels) != 2:
        raise FintuneError(f"eval.threshold '{cfg.eval.threshold}' needs two labels; this data has {splits.labels}")
    st = splits.stats
    run.console.print(
        f"data '{splits.name}': {st['n_train']} train / {st['n_validation']} validation / {st['n_test']} test; "
        + removed(st)
    )
    model = load_model(run, splits.labels)
    if model.kind == "causal" and cfg.train.class_weights:
        raise FintuneError(
            "train.class_weights weighs a classifier head's loss; a causal LM's loss is over answer tokens: "
            "set it false (a decision threshold chosen on validation, eval.threshold, handles a rare class)"
        )
    probs_of = probability_fn(model.kind, model.module, model.tokenizer, cfg, splits.labels)
    open_run(run)
    return LabelledRun(run, splits, model, probs_of)


def run(cfg: RunConfig, options: RunOptions, removed: Callable[[dict], str]) -> Path:
    """prepare -> fit -> evaluate -> write, for a task with nothing of its own to measure (classify, signal)."""
    job = prepare(cfg, options, removed)
    state = fit(job)
    if not job.run.is_main:  # rank 0 evaluates and writes; the others are done
        return job.run.folder.final
    final = write(job, evaluate(job, options.with_test), state, options.with_test)
    if options.with_test:
        print(f"report: {final / 'report.html'}")
    return final


def copies_removed(st: dict) -> str:
    """A random split's note: training texts dropped as copies of test texts."""
    return f"removed from training as copies of test: {st['dropped_train_in_test'] + st['dropped_validation_in_test']}"


def purged_at_boundaries(st: dict) -> str:
    """A time split's note: examples whose label window crosses a split boundary are dropped."""
    return f"purged at the time boundaries: {st['purged_train'] + st['purged_validation']}"


def fit(job: LabelledRun) -> LoopState:
    """Train on the training split; the epoch is chosen by eval.select_metric on validation."""
    cfg = job.run.cfg

    last: dict = {}

    def validate(_model) -> dict:
        scores, last["probs"] = evaluate_split(job.probs_of, job.splits.validation, job.labels)
        if len(job.labels) == 2 and cfg.eval.threshold != "argmax":  # the epoch is chosen as the run is: at the cut
            cut = decide(cfg, job.splits.validation, last["probs"], job.labels)["cut"]
            scores = {**at_cut(job.splits.validation, last["probs"], job.labels, cut), "loss": scores["loss"]}
        return {k: scores[k] for k in ("loss", "accuracy", "f1_macro", "f1_weighted", "mcc")}

    data = _encoded_training_set(job.model, job.splits.train, job.labels, cfg)
    select = (cfg.eval.select_metric, cfg.eval.select_metric != "loss")
    state = train(job.run, job.model, data, validate, select, _eval_cost(job))
    if job.run.dist.sharded and job.run.is_main:  # train() gathered the weights into a new, unsharded model
        job.probs_of = probability_fn(job.model.kind, job.model.module, job.model.tokenizer, cfg, job.labels)
    # The last validation of training is the final epoch's end; when that epoch is the one kept, its probabilities
    # are those of the weights now loaded, and evaluate() need not predict validation again (minutes for an LLM).
    if "probs" in last and state.evals and state.evals[-1]["epoch"] == state.best_epoch:
        job.validation_probs = last["probs"]
    return state


PROBE_TEXTS = 32
"""At most this many validation texts, one evaluation batch, are label-scored (and, for a causal LM that also
generates, answered) before training, to time the evaluation the estimate line counts: one batch, because a smaller
one costs more per text than the full batches evaluation runs; seconds, worth minutes of a wrong promise."""


def _eval_cost(job: LabelledRun) -> EvalCost | None:
    """One validation pass and the test evaluation in seconds, timed on one batch of texts; None where nothing
    trains or several processes do (a rank alone must not run the model while the others wait in a collective)."""
    cfg, splits, model = job.run.cfg, job.splits, job.model
    if cfg.adapter.method == "none" or job.run.dist.world_size > 1 or len(splits.validation) == 0:
        return None
    texts = list(splits.validation["text"][: min(PROBE_TEXTS, cfg.eval.batch_size)])
    job.probs_of(texts[:2])  # warm-up: the first call pays for allocations and kernel choice
    t0 = time.perf_counter()
    job.probs_of(texts)
    per_text = (time.perf_counter() - t0) / len(texts)
    test_s = per_text * len(splits.test) if job.run.with_test else 0.0
    if job.run.with_test and model.kind == "causal" and cfg.eval.generate:
        t0 = time.perf_counter()
        probe = splits.validation[: len(texts)]  # timed on validation texts: the test split is touched only once
        generate_and_parse(model.module, model.tokenizer, probe, job.labels, cfg, progress=False)
        test_s += (time.perf_counter() - t0) / len(probe) * len(splits.test)
    return EvalCost(validation_s=per_text * len(splits.validation), test_s=test_s)


def evaluate(job: LabelledRun, with_test: bool) -> Evaluated:
    """Validation (and test) metrics of the chosen weights, binary ranking scores and threshold, zero-shot
    calibration, generate-and-parse for causal LMs, and the baselines on the very same test split."""
    cfg, splits, labels, model = job.run.cfg, job.splits, job.labels, job.model
    console = job.run.console
    metrics: dict = {}
    if job.validation_probs is not None:
        val_probs = job.validation_probs
        metrics["validation"] = scored_split(splits.validation, val_probs, labels)
    else:
        with phase(f"validation: scoring {len(splits.validation):,} texts", console):
            metrics["validation"], val_probs = evaluate_split(job.probs_of, splits.validation, labels)
    cut = None
    if len(labels) == 2 and cfg.eval.threshold != "argmax":
        # validation is measured at the cut test will use, so that a sweep (or tune) choosing on validation
        # ranks runs by the decision they will make; at argmax a rare positive can score zero everywhere
        metrics["threshold"] = decide(cfg, splits.validation, val_probs, labels)
        cut = metrics["threshold"]["cut"]
        metrics["validation_argmax"] = metrics["validation"]
        metrics["validation"] = at_cut(splits.validation, val_probs, labels, cut)
    if not with_test:
        return Evaluated(metrics)
    with phase(f"test: scoring {len(splits.test):,} texts, with bootstrap intervals", console):
        metrics["test"], test_probs = evaluate_split(job.probs_of, splits.test, labels)
    if len(labels) == 2:  # binary: threshold-free ranking scores, and the validation-chosen cut if asked
        metrics["test"].update(ranking_scores((splits.test["label"] == labels[1]).to_numpy(), test_probs[:, 1]))
        if cut is not None:
            metrics["test_argmax"], metrics["test"] = metrics["test"], at_cut(splits.test, test_probs, labels, cut)
    if model.kind == "causal" and cfg.adapter.method == "none":  # zero-shot: label scoring with and without calibration
        raw = probability_fn(model.kind, model.module, model.tokenizer, cfg, labels, calibration="none")
        metrics["calibration"] = calibration_report(
            cfg.eval.calibration, val_probs, list(splits.validation["label"]), labels, content_free_prior(raw)
        )
    if model.kind == "causal" and cfg.eval.generate:
        metrics["test_generate"] = generate_and_parse(model.module, model.tokenizer, splits.test, labels, cfg)
    with phase(f"baselines: {', '.join(cfg.eval.baselines)} on the same test split", console):
        metrics["baselines"] = run_baselines(cfg.eval.baselines, splits.train, splits.validation, splits.test, labels)
    if DATASET_COLUMN in splits.test.columns:  # several datasets: each one's own test split, as `fintune eval` does
        metrics["evals"] = _per_dataset(splits, test_probs)
    return Evaluated(metrics, test_probs, predictions_frame(splits.test, test_probs, labels, cut))


def _per_dataset(splits: LabeledSplits, test_probs: np.ndarray) -> dict:
    """`evals` blocks `<dataset>/test` from the union's test probabilities (no second pass over the rows)."""
    blocks = {}
    for name in dict.fromkeys(splits.test[DATASET_COLUMN]):
        mask = (splits.test[DATASET_COLUMN] == name).to_numpy()
        blocks[f"{name}/test"] = benchmark_block(splits.test[mask], test_probs[mask], splits.train, splits.labels)
    return blocks


def write(job: LabelledRun, done: Evaluated, state: LoopState, with_test: bool, more_plots=None) -> Path:
    """Summary blocks, predictions, plots (confusion matrix, PR curve of a binary task, `more_plots(folder)`),
    the report; then the folder is finished and the test table printed."""
    cfg, splits, labels = job.run.cfg, job.splits, job.labels
    metrics = done.metrics
    pooling = resolve_pooling(cfg.model.pooling, resolve_model_path(cfg.model.path, cfg.model.gguf_file))
    metrics.update(
        summary_blocks(job.run, job.model, state, cfg.eval.select_metric, splits.fingerprints(), pooling=pooling)
    )
    metrics["data"] = {
        "source": splits.name,
        "labels": labels,
        **splits.stats,
        "train_label_counts": splits.train["label"].value_counts().to_dict(),
        **subset_block(cfg.data),
    }

    def write_rest(folder: Path) -> None:
        if not with_test:
            return
        done.predictions.to_csv(folder / "predictions.csv", index=False)
        confusion_matrix_plot(
            metrics["test"]["confusion_matrix"],
            labels,
            folder / "plots" / "confusion_matrix.png",
            f"{cfg.name}: test confusion matrix",
        )
        if len(labels) == 2:
            pr_curve_plot(
                (splits.test["label"] == labels[1]).to_numpy(),
                done.test_probs[:, 1],
                metrics.get("threshold", {}).get("cut"),
                folder / "plots" / "pr_curve.png",
                f"{cfg.name}: test precision-recall of '{labels[1]}'",
            )
        if more_plots:
            more_plots(folder)
        with phase("report: plots and report.html", job.run.console):
            write_report(folder, metrics, cfg.to_yaml(), job.run.label)

    final = finish_run(job.run, job.model, metrics, state, write_rest)
    if with_test:
        subset = f"; {SUBSET_NOTE}" if "subset" in metrics["data"] else ""
        print_results(metrics, job.run.label, f"{cfg.name} on {splits.name} test (n={metrics['test']['n']}){subset}")
        if positive_class_line(metrics):
            print(positive_class_line(metrics))
        if "evals" in metrics:
            table = benchmark_frame(list(metrics["evals"].items()), job.run.label)
            print_benchmark(table, f"{cfg.name}: each dataset's own test split")
    return final


def _encoded_training_set(model: Model, frame: pd.DataFrame, labels: list[str], cfg: RunConfig):
    if model.kind == "causal":
        template = PromptTemplate.from_config(cfg.prompt, model.tokenizer)
        prompts = [template.render(text, labels) for text in frame["text"]]
        return EncodedInstructions(model.tokenizer, prompts, list(frame["label"]), cfg.data.max_length, template.chat)
    label_index = {label: i for i, label in enumerate(labels)}
    ids = [label_index[x] for x in frame["label"]]
    data = EncodedTexts(model.tokenizer, list(frame["text"]), ids, cfg.data.max_length)
    if cfg.train.class_weights:  # balanced: n / (k * count), so every class weighs as much in total
        counts = torch.bincount(torch.tensor(ids), minlength=len(labels)).float()
        data.class_weights = len(ids) / (len(labels) * counts.clamp(min=1))
    return data
