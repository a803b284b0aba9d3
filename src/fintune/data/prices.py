"""OHLCV bars from CSV, validated, in UTC, indexed by each bar's opening time.

A daily bar dated 2022-05-01 is indexed at 2022-05-01 00:00 UTC: for 24/7 crypto that is when it opens;
for exchange-traded stocks it is earlier than the real open, so text published before the session is
aligned to that day's open, which is the conservative reading (it never uses a later price). Intraday
files give bar opening times directly (epoch seconds in the reddit set). Live sources (`yfinance:T`,
`twstock:T`, see `live_prices.py`) are fetched into a cached CSV first and then read here like any file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fintune.data.locate import locate
from fintune.errors import FintuneError

OHLCV = ["open", "high", "low", "close", "volume"]


def load_prices(path: str | Path, tz: str = "UTC") -> pd.DataFrame:
    """Bars with columns open, high, low, close, volume (+ adj_close), a sorted UTC `timestamp` index.

    Rows with a missing value are dropped and counted; `frame.attrs["report"]` says what was found.
    """
    path = Path(path)
    if not path.is_file():
        raise FintuneError(f"price file '{path}' not found")
    try:
        raw = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise FintuneError(f"price file '{path}' could not be read: {str(e).splitlines()[0]}") from None
    raw.columns = [c.strip().lower().replace(" ", "_") for c in raw.columns]
    missing = [c for c in OHLCV if c not in raw.columns]
    if missing:
        raise FintuneError(f"price file '{path}' has no column(s) {missing} (columns: {', '.join(raw.columns)})")
    frame = raw[OHLCV + (["adj_close"] if "adj_close" in raw.columns else [])].astype(float)
    frame.index = pd.Index(_timestamps(raw, path, tz), name="timestamp")
    report = validate_prices(frame, path)
    frame = frame.dropna()
    frame.attrs["report"] = report
    return frame


def _timestamps(raw: pd.DataFrame, path: Path, tz: str) -> pd.DatetimeIndex:
    if "unix" in raw.columns:  # epoch seconds: unambiguous, preferred over a local-time text column
        return pd.DatetimeIndex(pd.to_datetime(raw["unix"], unit="s", utc=True))
    column = next((c for c in ("timestamp", "datetime", "date", "time") if c in raw.columns), None)
    if column is None:
        raise FintuneError(f"price file '{path}' has no date column (date, datetime, timestamp or unix)")
    parsed = pd.to_datetime(raw[column], errors="coerce")
    bad = parsed.isna() & raw[column].notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise FintuneError(f"price file '{path}', row {row + 2}: cannot read date {raw[column].iloc[row]!r}")
    index = pd.DatetimeIndex(parsed)
    return index.tz_localize(tz).tz_convert("UTC") if index.tz is None else index.tz_convert("UTC")


def validate_prices(frame: pd.DataFrame, path: Path) -> dict:
    """Errors for what would make every later number wrong; counts for what can be worked around."""
    index = frame.index
    order = index.to_series().diff().dt.total_seconds().to_numpy()[1:]
    if (order < 0).any():
        row = int((order < 0).nonzero()[0][0]) + 1
        raise FintuneError(f"price file '{path}', row {row + 2}: {index[row]} comes before the row above; sort it")
    if (order == 0).any():
        row = int((order == 0).nonzero()[0][0]) + 1
        raise FintuneError(f"price file '{path}', row {row + 2}: duplicate timestamp {index[row]}")
    prices = frame[["open", "high", "low", "close"]]
    bad = (prices <= 0).any(axis=1)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise FintuneError(f"price file '{path}', row {row + 2}: a price is zero or negative")
    spacing = index.to_series().diff()
    median = spacing.median()
    return {
        "rows": int(len(frame)),
        "rows_with_nulls_dropped": int(frame.isna().any(axis=1).sum()),
        "bar": str(median),
        "gaps": int((spacing > 1.5 * median).sum()) if pd.notna(median) else 0,
        "first": str(index[0]) if len(index) else None,
        "last": str(index[-1]) if len(index) else None,
    }


def resample_ohlcv(frame: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Bars of another size: first open, highest high, lowest low, last close, summed volume."""
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    return frame.resample(rule, label="left", closed="left").agg(agg).dropna(subset=["open"])


# asset -> (folder, file name) in the shared datasets layout, per bar size
_DAILY = {
    "BTC": ("crypto_daily_ohlcv", "BTC-USD.csv"),
    "ETH": ("crypto_daily_ohlcv", "ETH-USD.csv"),
    "DJIA": ("djia_daily_2008_2016", "upload_DJIA_table.csv"),
}
_FIVE_MIN = {
    asset: ("reddit_crypto_subreddits_2022/prices_5min", f"{asset}-USD-2022-04-01.csv")
    for asset in ("BTC", "ETH", "DOGE")
}
_TAIWAN = ("2330.TW", "2412.TW", "2880.TW", "2884.TW", "0050.TW", "0056.TW")


def price_file(asset: str, bars: str = "1d") -> Path:
    """The shared file of an asset's bars: crypto (1d, 5min), DJIA, Taiwan tickers, StockNet tickers (1d)."""
    if bars == "5min":
        if asset not in _FIVE_MIN:
            raise FintuneError(f"no 5-minute bars for '{asset}' (have: {', '.join(_FIVE_MIN)})")
        return locate(asset, *_FIVE_MIN[asset])
    if asset in _DAILY:
        return locate(asset, *_DAILY[asset])
    if asset in _TAIWAN:
        return locate(asset, "taiwan_stocks_daily_2010_2019", f"{asset}.csv")
    return locate(asset, "stocknet/price_raw", f"{asset}.csv")  # StockNet's 88 tickers
