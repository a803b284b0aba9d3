"""K-line (candlestick) charts of a forecast: the past days, the predicted days, and what really happened.

Past candles are green (up) / red (down); predicted candles are blue (up) / orange (down) so they read as
the model's; the actual closes of the predicted days are a black line over them. A predicted day the
parser could not read is left blank, never drawn from a guess.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import mplfinance as mpf
import pandas as pd  # noqa: E402

PAST_UP, PAST_DOWN = "#2ca02c", "#d62728"
PREDICTED_UP, PREDICTED_DOWN = "#1f77b4", "#ff7f0e"
OHLC = ["open", "high", "low", "close"]


def kline_chart(
    past: pd.DataFrame,
    future_dates: list[pd.Timestamp],
    predicted: pd.DataFrame | None,
    actual: pd.DataFrame | None,
    path: Path,
    title: str,
) -> Path:
    """`past` / `predicted` / `actual` are indexed by date with OHLC columns (a close-only forecast is drawn
    as flat candles at its close)."""

    dates = pd.DatetimeIndex([*past.index, *future_dates]).tz_localize(None)
    frame = pd.DataFrame(index=dates, columns=OHLC, dtype=float)
    frame.iloc[: len(past)] = _ohlc(past).to_numpy()
    if predicted is not None and not predicted.empty:
        pred = _ohlc(predicted)
        pred.index = pd.DatetimeIndex(pred.index).tz_localize(None)
        frame.loc[pred.index, OHLC] = pred.to_numpy()
    colors = [None] * len(past) + [
        PREDICTED_UP if frame["close"].iloc[i] >= frame["open"].iloc[i] else PREDICTED_DOWN
        for i in range(len(past), len(frame))
    ]
    style = mpf.make_mpf_style(
        marketcolors=mpf.make_marketcolors(up=PAST_UP, down=PAST_DOWN, edge="inherit", wick="black"),
        gridstyle=":",
    )
    extra = []
    if actual is not None and not actual.empty:
        line = pd.Series(float("nan"), index=dates)
        line.iloc[len(past) :] = actual["close"].reindex(future_dates).to_numpy()
        if line.notna().any():
            extra.append(mpf.make_addplot(line, color="black", width=1.2, marker="o", markersize=3))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mpf.plot(
        frame.rename(columns=str.title),
        type="candle",
        style=style,
        marketcolor_overrides=colors,
        addplot=extra,
        title=title,
        ylabel="price",
        figsize=(max(6, 0.35 * len(frame) + 3), 4.5),
        savefig={"fname": str(path), "dpi": 110, "bbox_inches": "tight"},
        warn_too_much_data=10_000,
    )
    return path


def _ohlc(bars: pd.DataFrame) -> pd.DataFrame:
    """OHLC columns; a close-only frame becomes flat candles at the close."""
    if all(c in bars.columns for c in OHLC):
        return bars[OHLC].astype(float)
    return pd.DataFrame({c: bars["close"].astype(float) for c in OHLC}, index=bars.index)
