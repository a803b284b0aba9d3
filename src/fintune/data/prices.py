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
    return prices_from_table(read_price_table(path), path, tz)


def read_price_table(path: Path) -> pd.DataFrame:
    """A price CSV as read, its column names lower-cased with underscores (Yahoo's `Adj Close` -> `adj_close`)."""
    if not path.is_file():
        raise FintuneError(f"price file '{path}' not found")
    try:
        raw = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise FintuneError(f"price file '{path}' could not be read: {str(e).splitlines()[0]}") from None
    raw.columns = [str(c).strip().lower().replace(" ", "_") for c in raw.columns]
    return raw


def prices_from_table(raw: pd.DataFrame, path: Path, tz: str = "UTC", asset: str | None = None) -> pd.DataFrame:
    """`raw`: a whole price file as read, or one asset's rows of a long file (`asset`), its index the rows'
    positions in the file, so that an error names the row a spreadsheet shows (header = row 1)."""
    where = f"price file '{path}'" + (f" (asset '{asset}')" if asset else "")
    missing = [c for c in OHLCV if c not in raw.columns]
    if missing:
        raise FintuneError(f"{where} has no column(s) {missing} (columns: {', '.join(raw.columns)})")
    rows = raw.index.to_numpy() + 2
    frame = raw[OHLCV + (["adj_close"] if "adj_close" in raw.columns else [])]
    try:
        frame = frame.astype(float)
    except ValueError:
        numeric = frame.apply(pd.to_numeric, errors="coerce")
        bad = (numeric.isna() & frame.notna()).any(axis=1).to_numpy()
        raise FintuneError(f"{where}, row {rows[bad.nonzero()[0][0]]}: a price or volume is not a number") from None
    frame.index = pd.Index(_timestamps(raw, where, rows, tz), name="timestamp")
    report = validate_prices(frame, where, rows)
    frame = frame.dropna()
    frame.attrs["report"] = report
    return frame


def _timestamps(raw: pd.DataFrame, where: str, rows, tz: str) -> pd.DatetimeIndex:
    if "unix" in raw.columns:  # epoch seconds: unambiguous, preferred over a local-time text column
        return pd.DatetimeIndex(pd.to_datetime(raw["unix"], unit="s", utc=True))
    column = next((c for c in ("timestamp", "datetime", "date", "time") if c in raw.columns), None)
    if column is None:
        raise FintuneError(f"{where} has no date column (date, datetime, timestamp or unix)")
    parsed = pd.to_datetime(raw[column], errors="coerce")
    bad = parsed.isna() & raw[column].notna()
    if bad.any():
        at = int(bad.to_numpy().nonzero()[0][0])
        raise FintuneError(f"{where}, row {rows[at]}: cannot read date {raw[column].iloc[at]!r}")
    index = pd.DatetimeIndex(parsed)
    return index.tz_localize(tz).tz_convert("UTC") if index.tz is None else index.tz_convert("UTC")


def validate_prices(frame: pd.DataFrame, where: str, rows=None) -> dict:
    """Errors for what would make every later number wrong; counts for what can be worked around. `where` names
    the file (and asset); `rows[i]`: the file row of the i-th bar (default: a whole file's, header = row 1)."""
    index = frame.index
    rows = rows if rows is not None else range(2, len(frame) + 2)
    order = index.to_series().diff().dt.total_seconds().to_numpy()[1:]
    if (order < 0).any():
        at = int((order < 0).nonzero()[0][0]) + 1
        raise FintuneError(f"{where}, row {rows[at]}: {index[at]} comes before the row above; sort it")
    if (order == 0).any():
        at = int((order == 0).nonzero()[0][0]) + 1
        raise FintuneError(f"{where}, row {rows[at]}: duplicate timestamp {index[at]}")
    prices = frame[["open", "high", "low", "close"]]
    bad = (prices <= 0).any(axis=1)
    if bad.any():
        at = int(bad.to_numpy().nonzero()[0][0])
        raise FintuneError(f"{where}, row {rows[at]}: a price is zero or negative")
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
