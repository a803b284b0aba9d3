"""From per-post predictions to a trading decision per period, and the backtest block of a trend run.

Decisions sit on a grid of bar opening times one horizon apart, so holding periods never overlap. The
decision at grid time s uses the predictions of posts whose entry bar is in (previous grid time, s]: every
one of them was published before s. Their majority vote is the position (a tie, or no post, is flat), held
from the open at s to the open at the next grid time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from fintune.atomic import write_text
from fintune.config import validate_config
from fintune.data import load_splits
from fintune.data.align import TREND_LABELS
from fintune.errors import FintuneError
from fintune.eval.backtest import buy_and_hold, equity_curve_plot, run_backtest
from fintune.eval.data_check import check_data
from fintune.inference.predictor import check_finished_run

MODES = ("long_flat", "long_short")


def decision_periods(preds: pd.DataFrame, prices: pd.DataFrame, horizon: pd.Timedelta) -> pd.DataFrame:
    """One row per grid period: start, end, vote (down / flat / up), n_posts, period_return."""
    index, opens = prices.index, prices["open"].to_numpy(dtype=float)
    first, last = preds["entry_time"].min(), preds["entry_time"].max()
    grid = [index[index.searchsorted(first, side="left")]]
    while grid[-1] <= last:
        nxt = index.searchsorted(grid[-1] + horizon, side="left")
        if nxt >= len(index):
            break
        grid.append(index[nxt])
    grid = pd.DatetimeIndex(grid)
    slot = grid.searchsorted(pd.DatetimeIndex(preds["entry_time"]), side="left")
    votes = pd.DataFrame({"slot": slot, "pred": preds["pred_label"].to_numpy()})
    rows = []
    for k in range(len(grid) - 1):
        mine = votes.loc[votes["slot"] == k, "pred"]
        counts = mine.value_counts()
        top = counts[counts == counts.max()].index.tolist() if len(counts) else []
        start, end = index.get_loc(grid[k]), index.get_loc(grid[k + 1])
        rows.append(
            {
                "start": grid[k],
                "end": grid[k + 1],
                "vote": top[0] if len(top) == 1 else "flat",
                "n_posts": int(len(mine)),
                "period_return": opens[end] / opens[start] - 1,
            }
        )
    return pd.DataFrame(rows)


def positions(votes: pd.Series, mode: str) -> np.ndarray:
    """long_flat: up -> 1, else 0; long_short: up -> 1, down -> -1, flat -> 0."""
    up = (votes == "up").to_numpy(dtype=float)
    return up if mode == "long_flat" else up - (votes == "down").to_numpy(dtype=float)


def backtest_block(periods: pd.DataFrame, cost_bps: float) -> tuple[dict, dict[str, pd.Series]]:
    """(metrics.json `backtest` block, equity curves by name) for both modes and buy-and-hold."""

    returns = periods["period_return"].to_numpy(dtype=float)
    span_years = (periods["end"].iloc[-1] - periods["start"].iloc[0]) / pd.Timedelta("365.25D")
    per_year = len(periods) / span_years if span_years > 0 else 252.0
    block, curves = {}, {}
    for mode in MODES:
        result = run_backtest(positions(periods["vote"], mode), returns, cost_bps, per_year)
        block[f"strategy_{mode}"] = _numbers(result)
        curves[f"strategy ({mode.replace('_', '/')})"] = _curve(periods, result)
    hold = buy_and_hold(returns, cost_bps, per_year)
    block["buy_and_hold"] = _numbers(hold)
    curves["buy and hold"] = _curve(periods, hold)
    block["strategy"] = block["strategy_long_flat"]  # the contract's name; long/flat is the default strategy
    block["periods"] = int(len(periods))
    block["periods_per_year"] = float(per_year)
    block["cost_bps"] = float(cost_bps)
    block["votes"] = {label: int((periods["vote"] == label).sum()) for label in TREND_LABELS}
    return block, curves


def _numbers(result: dict) -> dict:
    return {k: v for k, v in result.items() if isinstance(v, (int, float))}


def _curve(periods: pd.DataFrame, result: dict) -> pd.Series:
    """Equity at each period's end, starting from 1 at the first period's start."""
    return _from_one(periods["start"].iloc[0], periods["end"], result["equity"])


def _from_one(start, ends, equity) -> pd.Series:
    return pd.Series([1.0, *equity], index=pd.DatetimeIndex([start, *ends]))


def trend_backtest(predictions: pd.DataFrame, prices: dict[str, pd.DataFrame], horizon: pd.Timedelta, cost_bps: float):
    """(backtest block, equity curves) of a trend run's test predictions.

    One asset: its strategies and buy-and-hold are the block's top level (the contract's `strategy` /
    `buy_and_hold`). Several: the top level is an equal-weight portfolio, rebalanced every period over the
    assets that have a period starting that day, and each asset's own numbers stay under `per_asset`.
    """
    periods = {}
    for asset, preds in predictions.groupby("asset", sort=True):
        asset_periods = decision_periods(preds, prices[asset], horizon)
        if not asset_periods.empty:
            periods[asset] = asset_periods
    per_asset = {asset: backtest_block(p, cost_bps)[0] for asset, p in periods.items()}
    if len(periods) == 1:
        block, curves = backtest_block(next(iter(periods.values())), cost_bps)
        return {**block, "per_asset": per_asset}, curves
    block, curves = portfolio_block(periods, cost_bps)
    return {**block, "per_asset": per_asset}, curves


def portfolio_block(periods: dict[str, pd.DataFrame], cost_bps: float) -> tuple[dict, dict[str, pd.Series]]:
    """Equal weight across assets: each day's return is the mean of the assets' net period returns."""

    cost = cost_bps / 1e4
    nets = []
    for p in periods.values():
        r = p["period_return"].to_numpy(dtype=float)
        net = {"day": p["start"].dt.normalize().to_numpy()}
        for mode in MODES:
            pos = positions(p["vote"], mode)
            net[mode] = pos * r - np.abs(np.diff(np.r_[0.0, pos])) * cost
        net["hold"] = r - np.r_[cost, np.zeros(len(r) - 1)]
        nets.append(pd.DataFrame(net))
    daily = pd.concat(nets).groupby("day").mean().sort_index()
    span_years = (daily.index[-1] - daily.index[0]) / pd.Timedelta("365.25D")
    per_year = len(daily) / span_years if span_years > 0 else 252.0
    block, curves = {}, {}
    for column, name, label in (
        ("long_flat", "strategy_long_flat", "strategy (long/flat)"),
        ("long_short", "strategy_long_short", "strategy (long/short)"),
        ("hold", "buy_and_hold", "buy and hold (equal weight)"),
    ):
        result = run_backtest(np.ones(len(daily)), daily[column].to_numpy(), 0.0, per_year)
        result["turnover"] = None  # of the portfolio's unit position, not of the assets: not meaningful here
        block[name] = _numbers(result)
        # A day's return is earned by the next period's start; the last period ends one spacing later.
        ends = [*daily.index[1:], daily.index[-1] + daily.index.to_series().diff().median()]
        curves[label] = _from_one(daily.index[0], ends, result["equity"])
    block["strategy"] = block["strategy_long_flat"]
    block["periods"] = int(len(daily))
    block["periods_per_year"] = float(per_year)
    block["cost_bps"] = float(cost_bps)
    block["assets"] = len(periods)
    return block, curves


def backtest_run(run_dir, cost_bps: float | None = None, allow_changed_data: bool = False) -> tuple[dict, Path]:
    """`fintune backtest`: trade a finished trend run's test predictions again, e.g. at another cost.

    Recorded under `backtests["<cost> bps"]` in metrics.json, with plots/equity_<cost>bps.png.
    """

    run_dir = Path(run_dir)
    check_finished_run(run_dir)
    cfg = validate_config(yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")), str(run_dir))
    splits = load_splits(cfg.data)  # the same prices and horizon the run was labelled with
    changed = check_data(run_dir, splits.fingerprints(), allow_changed_data)
    if not splits.prices:
        raise FintuneError(
            f"'{run_dir}' did not label text by prices (data.source '{cfg.data.source}'); nothing to trade"
        )
    cost = cfg.eval.cost_bps if cost_bps is None else cost_bps
    preds = pd.read_csv(run_dir / "predictions.csv", dtype={"asset": str})
    preds["entry_time"] = pd.to_datetime(preds["entry_time"], utc=True)
    block, curves = trend_backtest(preds, splits.prices, pd.Timedelta(splits.stats["horizon"]), cost)
    plot = equity_curve_plot(
        curves, run_dir / "plots" / f"equity_{cost:g}bps.png", f"{run_dir.name}: test period equity, {cost:g} bps costs"
    )
    path = run_dir / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    block.update(changed)
    metrics.setdefault("backtests", {})[f"{cost:g} bps"] = block
    write_text(path, json.dumps(metrics, indent=2))
    return block, plot
