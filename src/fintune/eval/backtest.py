"""Positions over periods -> equity, and the numbers that judge a strategy next to buy-and-hold.

Position i is held over period i. The caller guarantees it was decided at the start of period i from
information available then (see eval/trend_backtest.py). Costs: `cost_bps` per unit of position change,
the first entry included, taken from that period's return. Max drawdown is reported as a negative
fraction (-0.25 = the equity fell 25 % from its peak). A series with zero volatility has Sharpe 0.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def run_backtest(positions, period_returns, cost_bps: float = 0.0, periods_per_year: float = 252.0) -> dict:
    """total/annual return, annual volatility, Sharpe (0 % risk-free), max drawdown, hit rate, turnover, equity."""
    pos = np.asarray(positions, dtype=float)
    ret = np.asarray(period_returns, dtype=float)
    if pos.shape != ret.shape:
        raise ValueError(f"{len(pos)} positions for {len(ret)} period returns")
    changes = np.abs(np.diff(np.r_[0.0, pos]))
    net = pos * ret - changes * cost_bps / 1e4
    equity = np.cumprod(1 + net)
    n = len(net)
    total = float(equity[-1] - 1) if n else 0.0
    std = float(np.std(net, ddof=1)) if n > 1 else 0.0
    traded = pos != 0
    return {
        "total_return": total,
        "annual_return": float((1 + total) ** (periods_per_year / n) - 1) if n and total > -1 else -1.0,
        "annual_volatility": std * float(np.sqrt(periods_per_year)),
        "sharpe": float(np.mean(net) / std * np.sqrt(periods_per_year)) if std > 0 else 0.0,
        "max_drawdown": float(np.min(equity / np.maximum.accumulate(np.r_[1.0, equity])[1:] - 1)) if n else 0.0,
        "hit_rate": float(np.mean(np.sign(pos[traded]) == np.sign(ret[traded]))) if traded.any() else 0.0,
        "turnover": float(changes.sum()),
        "exposure": float(np.mean(traded)) if n else 0.0,
        "n_periods": n,
        "equity": equity.tolist(),
    }


def buy_and_hold(period_returns, cost_bps: float = 0.0, periods_per_year: float = 252.0) -> dict:
    """Long over every period: one entry cost, then the market's compounded return."""
    return run_backtest(np.ones(len(period_returns)), period_returns, cost_bps, periods_per_year)


def equity_curve_plot(curves: dict[str, pd.Series], path: Path, title: str) -> Path:
    """Equity of each strategy over time, starting at 1."""

    matplotlib.use("Agg")

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=110)
    for name, curve in curves.items():
        ax.plot(curve.index, curve.to_numpy(), label=name, linewidth=1.4)
    ax.axhline(1.0, color="#999", linewidth=0.8, linestyle="--")
    ax.set_title(title)
    ax.set_ylabel("equity (start = 1)")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
