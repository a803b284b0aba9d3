"""One run, top to bottom: data -> model -> method -> train -> evaluate -> baselines -> report.

This is the only place a run is composed; each step is a call into the package that owns it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import torch
from rich.console import Console

from fintune.backtest import equity_curve_plot
from fintune.config import RunConfig
from fintune.data import load_splits
from fintune.data.prompts import PromptTemplate
from fintune.errors import FintuneError
from fintune.eval.baselines import run_baselines
from fintune.eval.calibration import calibration_report, content_free_prior
from fintune.eval.classify import evaluate_split, predictions_frame
from fintune.eval.generate import generate_and_parse
from fintune.eval.sentiment_index import check_sentiment_run, sentiment_index_for_run
from fintune.eval.threshold import decide, ranking_scores
from fintune.eval.trend_backtest import trend_backtest
from fintune.methods import apply_method, build_optimizer, trainable_counts
from fintune.models.artifacts import save_trained
from fintune.models.causal import load_causal
from fintune.models.classifier import probability_fn
from fintune.models.encoder import load_classifier
from fintune.models.loading import load_model_config, model_kind
from fintune.models.pooling import resolve_pooling
from fintune.models.registry import resolve_model_path
from fintune.provenance import meta_block
from fintune.report.html import write_report
from fintune.report.plots import confusion_matrix_plot, loss_plot, pr_curve_plot
from fintune.report.table import SUBSET_NOTE, positive_class_line, print_backtest, print_results, sentiment_index_line
from fintune.train.batching import EncodedInstructions, EncodedTexts
from fintune.train.distributed import Distributed
from fintune.train.loop import LoopState, train_loop, train_summary
from fintune.train.memory import reset_peak_rss
from fintune.train.precision import resolve_precision
from fintune.train.rundir import RunDir
from fintune.train.tracking import check_tracking, open_tracker


def run(
    cfg: RunConfig,
    resume: bool = False,
    with_test: bool = True,
    console: Console | None = None,
    dist: Distributed | None = None,
) -> Path:
    """Train and evaluate one config; returns the finished run directory.

    Under torchrun (`dist`), every rank trains its share of each batch; rank 0 alone writes the run folder and
    evaluates, and the other ranks return the folder's final path as soon as training ends.
    """
    dist = dist or Distributed()
    console = (console or Console(stderr=True)) if dist.is_main else Console(stderr=True, quiet=True)
    t_start = time.perf_counter()
    reset_peak_rss()  # the run's own peak, not an earlier run's in the same process (a sweep)
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    torch.manual_seed(cfg.train.seed)  # the head and adapter initialisation depend on it

    # 1. data (validated before anything is written, so bad input leaves no folder behind)
    run_dir = RunDir(cfg)
    run_dir.check(resume)
    if cfg.eval.sentiment_run:  # fail now, not after training
        check_sentiment_run(Path(cfg.eval.sentiment_run))
    check_tracking(cfg.tracking)
    splits = load_splits(cfg.data)
    labels = splits.labels
    if cfg.eval.threshold != "argmax" and len(labels) != 2:
        raise FintuneError(f"eval.threshold '{cfg.eval.threshold}' needs two labels; this data has {labels}")
    st = splits.stats
    if "purged_train" in st:  # split by time
        removed = f"purged at the time boundaries: {st['purged_train'] + st['purged_validation']}"
    else:
        removed = (
            f"removed from training as copies of test: {st['dropped_train_in_test'] + st['dropped_validation_in_test']}"
        )
    console.print(
        f"data '{splits.name}': {st['n_train']} train / {st['n_validation']} validation / {st['n_test']} test; "
        + removed
    )

    # 2. model and method
    kind, tokenizer, model = _load_model(cfg, labels)
    if kind == "causal" and cfg.train.class_weights:
        raise FintuneError("train.class_weights applies to encoder classifiers, not causal LMs")
    if cfg.train.gradient_checkpointing:
        # non-reentrant checkpointing also works when the embeddings are frozen (adapters)
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = apply_method(model, cfg.adapter, causal=kind == "causal")
    probs_of = probability_fn(kind, model, tokenizer, cfg, labels)
    trainable, total = trainable_counts(model)
    console.print(f"model '{cfg.model.path}' with {cfg.adapter.method}: {trainable:,} of {total:,} parameters train")
    if dist.is_main:
        run_dir.open(resume, say=console.print)
    dist.barrier()  # the folder exists (or was discarded) before any rank trains
    tracker = open_tracker(cfg, run_dir.path, resume) if dist.is_main else None  # None: no-op

    # 3. train, choosing the best epoch on validation
    train_data = _encode_training_set(kind, tokenizer, splits.train, labels, cfg)

    def validate(_model) -> dict:
        scores, _ = evaluate_split(probs_of, splits.validation, labels)
        return {k: scores[k] for k in ("loss", "accuracy", "f1_macro", "f1_weighted", "mcc")}

    precision = resolve_precision(cfg.train.precision, next(model.parameters()).device)
    t_train = time.perf_counter()
    state = (
        LoopState()
        if cfg.adapter.method == "none"
        else train_loop(
            model,
            build_optimizer(model, cfg),
            train_data,
            cfg.train,
            validate,
            (cfg.eval.select_metric, cfg.eval.select_metric != "loss"),
            run_dir.work,
            resume,
            console,
            precision,
            tracker,
            dist,
        )
    )
    t_eval = time.perf_counter()
    if not dist.is_main:  # rank 0 evaluates and writes; the others are done
        return run_dir.final

    # 4. evaluate the chosen weights, and the baselines on the very same split
    metrics: dict = {}
    metrics["validation"], val_probs = evaluate_split(probs_of, splits.validation, labels)
    if with_test:
        metrics["test"], test_probs = evaluate_split(probs_of, splits.test, labels)
        if len(labels) == 2:  # binary: threshold-free ranking scores, and the validation-chosen cut if asked
            metrics["test"].update(ranking_scores((splits.test["label"] == labels[1]).to_numpy(), test_probs[:, 1]))
            if cfg.eval.threshold != "argmax":
                decided = decide(cfg, splits.validation, val_probs, splits.test, test_probs, labels)
                metrics["test_argmax"], metrics["test"] = metrics["test"], decided["test"]
                metrics["threshold"] = decided["threshold"]
        if kind == "causal" and cfg.adapter.method == "none":  # zero-shot: label scoring with and without calibration
            raw = probability_fn(kind, model, tokenizer, cfg, labels, calibration="none")
            metrics["calibration"] = calibration_report(
                cfg.eval.calibration, val_probs, list(splits.validation["label"]), labels, content_free_prior(raw)
            )
        if kind == "causal" and cfg.eval.generate:
            metrics["test_generate"] = generate_and_parse(model, tokenizer, splits.test, labels, cfg)
        metrics["baselines"] = run_baselines(cfg.eval.baselines, splits.train, splits.validation, splits.test, labels)
        if cfg.eval.sentiment_run:
            metrics["baselines"]["sentiment_index"] = sentiment_index_for_run(cfg, splits, run_dir.path)
        predictions = predictions_frame(splits.test, test_probs, labels, metrics.get("threshold", {}).get("cut"))
        predictions.to_csv(run_dir.path / "predictions.csv", index=False)
        if splits.prices:  # text labelled by later prices: trade the predictions
            metrics["backtest"], curves = trend_backtest(
                predictions, splits.prices, pd.Timedelta(splits.stats["horizon"]), cfg.eval.cost_bps
            )
    t_end = time.perf_counter()

    metrics["train"] = train_summary(
        state,
        trainable,
        total,
        precision,
        (t_start, t_train, t_eval, t_end),
        select_metric=cfg.eval.select_metric,
        model_kind=kind,
        pooling=resolve_pooling(cfg.model.pooling, resolve_model_path(cfg.model.path, cfg.model.gguf_file)),
    )
    metrics["data"] = {
        "source": splits.name,
        "labels": labels,
        **splits.stats,
        "train_label_counts": splits.train["label"].value_counts().to_dict(),
        **({"subset": SUBSET_NOTE} if cfg.data.max_train_samples or cfg.data.max_eval_samples else {}),
    }
    metrics["meta"] = meta_block(cfg.train.seed, splits.fingerprints())

    # 5. artifacts: weights, metrics, plots, report; then the folder becomes a finished run
    if cfg.adapter.method != "none":  # a zero-shot run is its base model; nothing new to save
        save_trained(model, tokenizer, run_dir.path)
    (run_dir.path / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    (run_dir.path / "train_log.json").write_text(json.dumps(state.losses), encoding="utf-8")
    run_label = f"{Path(cfg.model.path).name} + {cfg.adapter.method}"
    loss_plot(state.losses, state.evals, run_dir.path / "plots" / "loss.png", f"{cfg.name}: loss")
    if with_test:
        confusion_matrix_plot(
            metrics["test"]["confusion_matrix"],
            labels,
            run_dir.path / "plots" / "confusion_matrix.png",
            f"{cfg.name}: test confusion matrix",
        )
        if len(labels) == 2:
            pr_curve_plot(
                (splits.test["label"] == labels[1]).to_numpy(),
                test_probs[:, 1],
                metrics.get("threshold", {}).get("cut"),
                run_dir.path / "plots" / "pr_curve.png",
                f"{cfg.name}: test precision-recall of '{labels[1]}'",
            )
        if "backtest" in metrics:
            equity_curve_plot(curves, run_dir.path / "plots" / "equity.png", f"{cfg.name}: test period equity")
        write_report(run_dir.path, metrics, cfg.to_yaml(), run_label)
    tracker.log_summary(metrics, state.step)
    tracker.close()  # before the rename: TensorBoard writes into the run folder
    final = run_dir.finish()
    if with_test:
        subset = f"; {SUBSET_NOTE}" if "subset" in metrics["data"] else ""
        print_results(metrics, run_label, f"{cfg.name} on {splits.name} test (n={metrics['test']['n']}){subset}")
        if positive_class_line(metrics):
            print(positive_class_line(metrics))
        if "sentiment_index" in metrics["baselines"]:
            print(sentiment_index_line(metrics["baselines"]["sentiment_index"]))
        if "backtest" in metrics:
            print_backtest(metrics["backtest"], f"{cfg.name}: backtest over the test period")
        print(f"report: {final / 'report.html'}")
    return final


def _load_model(cfg: RunConfig, labels: list[str]):
    """(kind, tokenizer, model): an encoder with a fresh head, or a causal LM that will write the label."""
    _, config = load_model_config(cfg.model)
    kind = model_kind(cfg.model, config)
    if kind == "causal":
        return kind, *load_causal(cfg.model, cfg.adapter)
    return kind, *load_classifier(cfg.model, labels)


def _encode_training_set(kind: str, tokenizer, frame, labels: list[str], cfg: RunConfig):
    if kind == "causal":
        template = PromptTemplate.from_config(cfg.prompt, tokenizer)
        prompts = [template.render(text, labels) for text in frame["text"]]
        return EncodedInstructions(tokenizer, prompts, list(frame["label"]), cfg.data.max_length, template.chat)
    label_index = {label: i for i, label in enumerate(labels)}
    ids = [label_index[x] for x in frame["label"]]
    data = EncodedTexts(tokenizer, list(frame["text"]), ids, cfg.data.max_length)
    if cfg.train.class_weights:  # balanced: n / (k * count), so every class weighs as much in total
        counts = torch.bincount(torch.tensor(ids), minlength=len(labels)).float()
        data.class_weights = len(ids) / (len(labels) * counts.clamp(min=1))
    return data
