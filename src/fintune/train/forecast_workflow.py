"""One forecasting run, top to bottom: price windows -> causal LM + method -> train on the answer rows ->
generate and parse the test forecasts -> naive and LSTM baselines on the same windows -> K-line charts and
a report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rich.console import Console

from fintune.config import RunConfig
from fintune.data.prompts import ChatFormat, PromptTemplate
from fintune.data.windows import WindowSplits, future_bars, load_window_splits, past_bars
from fintune.errors import FintuneError
from fintune.eval.forecast import forecast_metrics, forecast_metrics_by_window
from fintune.eval.forecast_baselines import FORECAST_BASELINES, days_frame
from fintune.eval.forecast_generate import answer_loss, generate_forecasts, predicted_closes, window_messages
from fintune.methods import apply_method, build_optimizer, trainable_counts
from fintune.models.artifacts import save_trained
from fintune.models.causal import load_causal
from fintune.models.loading import load_model_config, model_kind
from fintune.provenance import meta_block
from fintune.report.forecast_report import print_forecast, write_forecast_report
from fintune.report.kline import kline_chart
from fintune.report.plots import loss_plot
from fintune.train.batching import EncodedInstructions
from fintune.train.loop import train_loop, train_summary
from fintune.train.memory import reset_peak_rss
from fintune.train.precision import resolve_precision
from fintune.train.rundir import RunDir
from fintune.train.tracking import check_tracking, open_tracker

CHARTS_PER_PAIR = 2  # the first and last test window of each (past, future) pair


def run_forecast(cfg: RunConfig, resume: bool = False, console: Console | None = None) -> Path:
    console = console or Console(stderr=True)
    t_start = time.perf_counter()
    reset_peak_rss()  # the run's own peak, not an earlier run's in the same process (a sweep)
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    torch.manual_seed(cfg.train.seed)

    # 1. data, checked before anything is written
    run_dir = RunDir(cfg)
    run_dir.check(resume)
    check_tracking(cfg.tracking)
    splits = load_window_splits(cfg.data)
    st = splits.stats
    console.print(
        f"windows {cfg.data.windows.pairs} of {', '.join(splits.bars)}: {st['n_train']} train / "
        f"{st['n_validation']} validation / {st['n_test']} test; {st['dropped_across_boundaries']} straddling a "
        "split boundary dropped"
    )

    # 2. a causal LM that writes the rows
    _, config = load_model_config(cfg.model)
    if model_kind(cfg.model, config) != "causal":
        raise FintuneError(f"forecasting writes prices as text: model.path '{cfg.model.path}' must be a causal LM")
    tokenizer, model = load_causal(cfg.model, cfg.adapter)
    if cfg.train.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = apply_method(model, cfg.adapter, causal=True)
    trainable, total = trainable_counts(model)
    chat = PromptTemplate.from_config(cfg.prompt, tokenizer).chat
    console.print(f"model '{cfg.model.path}' with {cfg.adapter.method}: {trainable:,} of {total:,} parameters train")
    run_dir.open(resume, say=console.print)
    tracker = open_tracker(cfg, run_dir.path, resume)  # TensorBoard / MLflow when enabled, else a no-op

    # 3. train on the answer rows, keeping the epoch with the lowest validation loss
    train_data, val_data = (_encoded(tokenizer, splits, part, cfg, chat) for part in (splits.train, splits.validation))
    precision = resolve_precision(cfg.train.precision, next(model.parameters()).device)
    t_train = time.perf_counter()
    state = train_loop(
        model,
        build_optimizer(model, cfg),
        train_data,
        cfg.train,
        lambda m: {"loss": answer_loss(m, val_data, cfg.eval.batch_size)},
        ("loss", False),
        run_dir.work,
        resume,
        console,
        precision,
        tracker,
    )
    t_eval = time.perf_counter()

    # 4. forecast the test windows; baselines on the very same windows
    texts, parsed = generate_forecasts(model, tokenizer, splits, splits.test, cfg, chat)
    model_days = days_frame(splits.bars, splits.test, predicted_closes(splits, splits.test, parsed))
    metrics: dict = {
        "test": {**_block(model_days), **_parse_counts(parsed)},
        "validation": {"loss": round(answer_loss(model, val_data, cfg.eval.batch_size), 6)},
        "baselines": {},
    }
    predictions = model_days.rename(columns={"pred_close": "pred_close_model"})
    for name in cfg.eval.baselines:
        console.print(f"baseline {name} ...")
        days = days_frame(
            splits.bars,
            splits.test,
            FORECAST_BASELINES[name](splits.bars, splits.train, splits.validation, splits.test),
        )
        metrics["baselines"][name] = _block(days)
        predictions[f"pred_close_{name}"] = days["pred_close"].to_numpy()
    t_end = time.perf_counter()

    metrics["train"] = train_summary(
        state,
        trainable,
        total,
        precision,
        (t_start, t_train, t_eval, t_end),
        select_metric="loss",
        model_kind="causal",
    )
    metrics["data"] = {"source": "windows", "fields": splits.fields, **st}
    metrics["meta"] = meta_block(cfg.train.seed, splits.fingerprints())

    # 5. artifacts, then the folder becomes a finished run
    save_trained(model, tokenizer, run_dir.path)
    (run_dir.path / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    (run_dir.path / "train_log.json").write_text(json.dumps(state.losses), encoding="utf-8")
    predictions.to_csv(run_dir.path / "predictions.csv", index=False)
    _write_generations(run_dir.path / "generations.jsonl", splits.test, texts, parsed)
    loss_plot(state.losses, state.evals, run_dir.path / "plots" / "loss.png", f"{cfg.name}: loss")
    _charts(splits, parsed, run_dir.path / "plots")
    run_label = f"{Path(cfg.model.path).name} + {cfg.adapter.method}"
    write_forecast_report(run_dir.path, metrics, cfg.to_yaml(), run_label)
    tracker.log_summary(metrics, state.step)
    tracker.close()  # before the rename: TensorBoard writes into the run folder
    final = run_dir.finish()
    print_forecast(metrics, run_label, f"{cfg.name}: test close forecasts")
    print(f"report: {final / 'report.html'}")
    return final


def _encoded(tokenizer, splits: WindowSplits, windows: pd.DataFrame, cfg: RunConfig, chat: ChatFormat | None):
    prompts, answers = window_messages(splits, windows, cfg.data.windows.max_headlines)
    return EncodedInstructions(tokenizer, prompts, answers, cfg.data.max_length, chat)


def _block(days: pd.DataFrame) -> dict:
    """The `all` metrics at the top (the contract's keys), then per pair and per ticker."""
    return {
        **forecast_metrics(days),
        "by_window": forecast_metrics_by_window(days),
        "mae_by_ticker": {t: forecast_metrics(g)["mae"] for t, g in days.groupby("ticker", sort=True)},
    }


def _parse_counts(parsed) -> dict:
    return {
        "days_expected": int(sum(p.n_expected for p in parsed)),
        "days_missing": int(sum(p.n_missing for p in parsed)),
        "rows_malformed": int(sum(p.n_malformed for p in parsed)),
        "rows_unexpected": int(sum(p.n_unexpected for p in parsed)),
        "rows_duplicate": int(sum(p.n_duplicate for p in parsed)),
    }


def _write_generations(path: Path, windows: pd.DataFrame, texts: list[str], parsed) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for (_, w), text, p in zip(windows.iterrows(), texts, parsed):
            f.write(json.dumps({"id": w["id"], "output": text, "days_missing": p.n_missing}) + "\n")


def _charts(splits: WindowSplits, parsed, folder: Path) -> None:
    """K-line charts of the first and last test window of each (past, future) pair."""
    test = splits.test.reset_index(drop=True)
    for (past, future), group in test.groupby(["past", "future"], sort=True):
        for i in np.unique([group.index[0], group.index[-1]])[:CHARTS_PER_PAIR]:
            w = test.loc[i]
            bars = splits.bars[w["ticker"]]
            actual = future_bars(bars, w)
            kline_chart(
                past_bars(bars, w),
                list(actual.index),
                parsed[i].rows,
                actual,
                folder / f"kline_{w['ticker']}_{past}-{future}_{actual.index[0]:%Y%m%d}.png",
                f"{w['ticker']} {past}->{future} {actual.index[0]:%Y-%m-%d} (blue/orange: predicted; line: actual)",
            )
