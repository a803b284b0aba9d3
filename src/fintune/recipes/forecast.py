"""Price-window forecasting: the past N days of OHLCV (and headlines) as a chat prompt -> the next M days written
as rows. A causal LM trains on the answer rows, keeping the epoch with the lowest validation loss; the test
forecasts are generated and parsed, scored on the close beside naive and LSTM baselines on the very same windows,
and drawn as K-line charts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from fintune.config import RunConfig
from fintune.data.prompts import ChatFormat, PromptTemplate
from fintune.data.windows import WindowSplits, future_bars, load_window_splits, past_bars
from fintune.eval.forecast import forecast_metrics, forecast_metrics_by_window, naive_scales
from fintune.eval.forecast_baselines import FORECAST_BASELINES, days_frame
from fintune.eval.forecast_generate import answer_loss, generate_forecasts, predicted_closes, window_messages
from fintune.recipes.pieces import RunOptions, finish_run, load_model, open_run, setup_run, summary_blocks, train
from fintune.report.forecast_report import print_forecast, write_forecast_report
from fintune.report.kline import kline_chart
from fintune.report.table import SUBSET_NOTE, subset_block
from fintune.train.batching import EncodedInstructions

CHARTS_PER_PAIR = 2  # the first and last test window of each (past, future) pair


def run(cfg: RunConfig, options: RunOptions) -> Path:
    """Train, forecast the test windows beside the baselines, write runs/<name>/; returns the finished folder."""
    # 1. windows, checked before anything is written
    run = setup_run(cfg, options)
    with_test = options.with_test
    splits = load_window_splits(cfg.data)
    st = splits.stats
    run.console.print(
        f"windows {cfg.data.windows.pairs} of {', '.join(splits.bars)}: {st['n_train']} train / "
        f"{st['n_validation']} validation / {st['n_test']} test; {st['dropped_across_boundaries']} straddling a "
        "split boundary dropped"
    )

    # 2. a causal LM that writes the rows
    model = load_model(run, causal_only="forecasting writes prices as text: it needs a causal LM")
    chat = PromptTemplate.from_config(cfg.prompt, model.tokenizer).chat
    open_run(run)

    # 3. train on the answer rows, keeping the epoch with the lowest validation loss
    train_data, val_data = (_encoded(model.tokenizer, splits, w, cfg, chat) for w in (splits.train, splits.validation))
    state = train(
        run, model, train_data, lambda m: {"loss": answer_loss(m, val_data, cfg.eval.batch_size)}, ("loss", False)
    )
    if not run.is_main:  # rank 0 evaluates and writes; the others are done
        return run.folder.final

    # 4. forecast the test windows; baselines on the very same windows
    metrics: dict = {"validation": {"loss": _validation_loss(state, model.module, val_data, cfg.eval.batch_size)}}
    if with_test:
        texts, parsed = generate_forecasts(model.module, model.tokenizer, splits, splits.test, cfg, chat)
        scales = naive_scales(splits.bars, cfg.data.windows.validation_start)
        model_days = days_frame(splits.bars, splits.test, predicted_closes(splits, splits.test, parsed), scales)
        metrics["test"] = {**_block(model_days), **_parse_counts(parsed)}
        metrics["baselines"] = {}
        predictions = model_days.rename(columns={"pred_close": "pred_close_model"})
        for name in cfg.eval.baselines:
            run.console.print(f"baseline {name} ...")
            days = days_frame(
                splits.bars,
                splits.test,
                FORECAST_BASELINES[name](splits.bars, splits.train, splits.validation, splits.test),
                scales,
            )
            metrics["baselines"][name] = _block(days)
            # the same days the model's numbers are over: a model that parsed some days only is compared there
            parsed_days = model_days["pred_close"].notna().to_numpy()
            metrics["baselines"][name]["on_model_days"] = forecast_metrics_by_window(days[parsed_days])
            predictions[f"pred_close_{name}"] = days["pred_close"].to_numpy()
    metrics.update(summary_blocks(run, model, state, "loss", splits.fingerprints()))
    metrics["data"] = {"source": "windows", "fields": splits.fields, **st, **subset_block(cfg.data)}

    # 5. artifacts, then the folder becomes a finished run
    def write_rest(folder: Path) -> None:
        if not with_test:
            return
        predictions.to_csv(folder / "predictions.csv", index=False)
        _write_generations(folder / "generations.jsonl", splits.test, texts, parsed)
        _charts(splits, parsed, folder / "plots")
        write_forecast_report(folder, metrics, cfg.to_yaml(), run.label)

    final = finish_run(run, model, metrics, state, write_rest)
    if with_test:
        subset = f" ({SUBSET_NOTE})" if "subset" in metrics["data"] else ""
        print_forecast(metrics, run.label, f"{cfg.name}: test close forecasts{subset}")
        print(f"report: {final / 'report.html'}")
    return final


def _validation_loss(state, module, val_data, batch_size: int) -> float:
    """The kept epoch's validation loss, measured when it ended (its weights are the ones loaded back); measured
    now only when no epoch was scored (a zero-shot run)."""
    kept = [e for e in state.evals if e.get("epoch") == state.best_epoch]
    return round(kept[0]["loss"] if kept else answer_loss(module, val_data, batch_size), 6)


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
