"""Posts meet later prices: forward returns and down / flat / up labels without look-ahead.

A post published at time t can only be traded on the first bar that *opens strictly after* t: its
entry price is that bar's open. The label window ends at the first bar opening at or after
entry + horizon, whose open is the exit price. Bars are indexed by their opening time (UTC).
Nothing about a post's label uses a price from before its entry bar except the volatility band,
which uses closes of bars that finished before the entry bar opened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TREND_LABELS = ["down", "flat", "up"]


@dataclass(frozen=True)
class Band:
    """The neutral band: |return| within it is 'flat'. Either fixed or a multiple of recent volatility."""

    threshold: float | None = 0.005
    """Fixed band half-width as a fraction (0.005 = 0.5 %)."""
    vol_multiple: float | None = None
    """If set, the half-width is this many standard deviations of the horizon return (replaces threshold)."""
    vol_window: int = 20
    """Number of finished bars the volatility is measured over."""


def align_to_bars(times: pd.Series, prices: pd.DataFrame, horizon: pd.Timedelta) -> pd.DataFrame:
    """Entry / exit bar of each time: columns entry_time, exit_time, entry_price, exit_price, forward_return.

    Rows whose entry or exit bar is past the end of `prices` get NaN and must be dropped by the caller.
    `prices` is indexed by bar opening time (tz-aware UTC, sorted) with an `open` column.
    """
    index = prices.index
    times = pd.DatetimeIndex(times)
    entry = index.searchsorted(times, side="right")  # first bar opening strictly after the post
    has_entry = entry < len(index)
    entry_time = pd.Series(pd.NaT, index=range(len(times)), dtype=index.dtype)
    entry_time[has_entry] = index[entry[has_entry]]
    exit_ = np.full(len(times), len(index))
    exit_[has_entry] = index.searchsorted(entry_time[has_entry] + horizon, side="left")
    ok = has_entry & (exit_ < len(index))
    opens = prices["open"].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "entry_index": np.where(ok, entry, -1),
            "entry_time": entry_time.where(ok),
            "exit_time": pd.Series(pd.NaT, index=range(len(times)), dtype=index.dtype),
            "entry_price": np.where(ok, opens[np.minimum(entry, len(index) - 1)], np.nan),
            "exit_price": np.where(ok, opens[np.minimum(exit_, len(index) - 1)], np.nan),
        }
    )
    out.loc[ok, "exit_time"] = index[exit_[ok]]
    out["forward_return"] = out["exit_price"] / out["entry_price"] - 1
    return out


def band_widths(prices: pd.DataFrame, entry_index: np.ndarray, horizon_bars: float, band: Band) -> np.ndarray:
    """Half-width of the neutral band for each entry bar.

    The volatility of bar i uses the log close-to-close returns of the `vol_window` bars that closed before
    bar i opened, scaled by sqrt(horizon_bars) to the horizon: no price from the label window enters it.
    """
    if band.vol_multiple is None:
        return np.full(len(entry_index), float(band.threshold))
    log_ret = np.log(prices["close"].astype(float)).diff()
    # shift(1): the value at bar i only sees returns of bars up to i - 1, which closed before bar i opened.
    vol = log_ret.rolling(band.vol_window, min_periods=band.vol_window).std().shift(1).to_numpy()
    widths = np.full(len(entry_index), np.nan)
    valid = entry_index >= 0
    widths[valid] = band.vol_multiple * vol[entry_index[valid]] * np.sqrt(horizon_bars)
    return widths


def label_returns(returns: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """'up' above +width, 'down' below -width, 'flat' in between; NaN return or width -> None."""
    labels = np.where(returns > widths, "up", np.where(returns < -widths, "down", "flat")).astype(object)
    labels[np.isnan(returns) | np.isnan(widths)] = None
    return labels


def label_posts(posts: pd.DataFrame, prices: pd.DataFrame, horizon: pd.Timedelta, band: Band) -> pd.DataFrame:
    """Posts of one asset with their label window and label; posts without a full window are dropped.

    `posts` needs `timestamp` (tz-aware UTC); every other column is kept.
    """
    posts = posts.reset_index(drop=True)
    aligned = align_to_bars(posts["timestamp"], prices, horizon)
    spacing = prices.index.to_series().diff().median()
    horizon_bars = max(horizon / spacing, 1.0) if pd.notna(spacing) else 1.0
    widths = band_widths(prices, aligned["entry_index"].to_numpy(), horizon_bars, band)
    out = pd.concat([posts, aligned.drop(columns="entry_index")], axis=1)
    out["label"] = label_returns(out["forward_return"].to_numpy(dtype=float), widths)
    out["momentum_label"] = label_returns(_past_return(prices, out["entry_time"], horizon), widths)
    out = out[out["label"].notna()].reset_index(drop=True)
    check_no_lookahead(out)
    return out


def _past_return(prices: pd.DataFrame, entry_time: pd.Series, horizon: pd.Timedelta) -> np.ndarray:
    """Open-to-open return over the horizon that ends at each entry bar: known when the position is taken."""
    index, opens = prices.index, prices["open"].to_numpy(dtype=float)
    known = entry_time.notna().to_numpy()
    out = np.full(len(entry_time), np.nan)
    now = index.searchsorted(pd.DatetimeIndex(entry_time[known]), side="left")
    back = index.searchsorted(pd.DatetimeIndex(entry_time[known]) - horizon, side="left")
    usable = back < now  # a window before the first bar has no past
    values = np.full(len(now), np.nan)
    values[usable] = opens[now[usable]] / opens[back[usable]] - 1
    out[known] = values
    return out


def aggregate_by_period(posts: pd.DataFrame, period: str) -> pd.DataFrame:
    """All posts of each (asset, period) joined into one example timestamped at the period's end.

    Posts in [start, end) are all published before `end`, so the example may trade on the first bar opening
    at or after `end`; it is stamped one tick (the timestamps' resolution) before `end`, so `align_to_bars`
    (strictly after) picks exactly that bar.
    """
    start = posts["timestamp"].dt.floor(period)
    grouped = posts.assign(period_start=start).groupby(["asset", "period_start"], sort=True)
    out = grouped.agg(text=("text", "\n".join), n_posts=("text", "size")).reset_index()
    end = out["period_start"] + pd.tseries.frequencies.to_offset(period)
    out["timestamp"] = end - pd.Timedelta(1, end.dt.unit)
    out["id"] = out["asset"] + "@" + out["period_start"].dt.strftime("%Y-%m-%dT%H:%M")
    return out.drop(columns="period_start")


def check_no_lookahead(frame: pd.DataFrame) -> None:
    """Every example's text must predate its entry bar, and its window must end after it starts."""
    bad = frame.index[~(frame["timestamp"] < frame["entry_time"])]
    if len(bad):
        row = frame.loc[bad[0]]
        raise AssertionError(f"example {row.get('id')} at {row['timestamp']} enters at {row['entry_time']}")
    bad = frame.index[~(frame["exit_time"] > frame["entry_time"])]
    if len(bad):
        raise AssertionError(f"example {frame.loc[bad[0]].get('id')} has an empty label window")
