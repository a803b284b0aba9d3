"""Posts -> the later price move (down / flat / up), split by time: the classification steps, then the test
predictions traded against buy-and-hold, and optionally a sentiment index of the posts as one more baseline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fintune.config import RunConfig
from fintune.eval.backtest import equity_curve_plot
from fintune.eval.sentiment_index import check_sentiment_run, sentiment_index_for_run
from fintune.eval.trend_backtest import trend_backtest
from fintune.recipes import labelled
from fintune.recipes.pieces import RunOptions
from fintune.report.table import print_backtest, sentiment_index_line


def run(cfg: RunConfig, options: RunOptions) -> Path:
    """Train, evaluate and backtest beside the baselines, write runs/<name>/; returns the finished folder."""
    if cfg.eval.sentiment_run:  # fail now, not after training
        check_sentiment_run(Path(cfg.eval.sentiment_run))
    job = labelled.prepare(cfg, options, removed=labelled.purged_at_boundaries)
    state = labelled.fit(job)
    if not job.run.is_main:
        return job.run.folder.final
    done = labelled.evaluate(job, options.with_test)
    curves = None
    if options.with_test:
        splits, metrics = job.splits, done.metrics
        if cfg.eval.sentiment_run:
            metrics["baselines"]["sentiment_index"] = sentiment_index_for_run(cfg, splits, job.run.folder.path)
        horizon = pd.Timedelta(splits.stats["horizon"])
        metrics["backtest"], curves = trend_backtest(done.predictions, splits.prices, horizon, cfg.eval.cost_bps)

    def equity(folder: Path) -> None:
        equity_curve_plot(curves, folder / "plots" / "equity.png", f"{cfg.name}: test period equity")

    final = labelled.write(job, done, state, options.with_test, more_plots=equity)
    if options.with_test:
        if "sentiment_index" in done.metrics["baselines"]:
            print(sentiment_index_line(done.metrics["baselines"]["sentiment_index"]))
        print_backtest(done.metrics["backtest"], f"{cfg.name}: backtest over the test period")
        print(f"report: {final / 'report.html'}")
    return final
