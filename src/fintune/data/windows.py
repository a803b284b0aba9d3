"""Price windows: the past N trading days of a ticker as input, the next M days as the target.

Windows of several (N, M) pairs are mixed in one set, as in the work this follows. Splits are by time
and whole windows: a window belongs to a split only when every one of its days, past and future, lies in
that split's period, so no day is seen as a target in one split and predicted again in another. Windows
that straddle a boundary are dropped and counted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fintune.config import DataConfig, WindowsConfig
from fintune.data.dataset import file_sha256
from fintune.data.posts import load_posts_file, load_stocknet_tweets
from fintune.data.prices import load_prices, price_file
from fintune.data.user_prices import UserPrices
from fintune.errors import FintuneError

FIELD_SETS = {
    "ohlcv": ["open", "high", "low", "close", "volume"],
    "ohlc": ["open", "high", "low", "close"],
    "close": ["close"],
}


def trading_days(bars: pd.DataFrame) -> pd.DataFrame:
    """Daily bars that traded: zero-volume rows are placeholders for closed days (typhoons, make-up days)."""
    return bars[bars["volume"] > 0]


def build_windows(bars: pd.DataFrame, ticker: str, pairs: list[tuple[int, int]], stride: int = 1) -> pd.DataFrame:
    """One row per window: id, ticker, past, future, start (its first past day), end (its last future day)
    and `at`, the position of its first future day in `bars` (past = bars[at - past : at])."""
    rows = []
    for past, future in pairs:
        if past < 1 or future < 1:
            raise FintuneError(f"data.windows.pairs: ({past}, {future}) needs at least one past and one future day")
        for at in range(past, len(bars) - future + 1, stride):
            rows.append((ticker, past, future, at))
    if not rows:
        raise FintuneError(f"{ticker}: {len(bars)} trading days are too few for windows {pairs}")
    out = pd.DataFrame(rows, columns=["ticker", "past", "future", "at"])
    dates = bars.index
    out["start"] = dates[out["at"] - out["past"]]
    out["end"] = dates[out["at"] + out["future"] - 1]
    first_future = dates[out["at"]].strftime("%Y-%m-%d")
    out["id"] = out["ticker"] + ":" + out["past"].astype(str) + "->" + out["future"].astype(str) + "@" + first_future
    return out[["id", "ticker", "past", "future", "start", "end", "at"]]


def split_windows(
    windows: pd.DataFrame,
    validation_start: datetime.date,
    test_start: datetime.date,
    test_end: datetime.date | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """(train, validation, test, stats): whole windows inside [.., validation_start), [validation_start,
    test_start), [test_start, test_end)."""
    bounds = [pd.Timestamp(d, tz="UTC") for d in (validation_start, test_start)]
    last = pd.Timestamp(test_end, tz="UTC") if test_end else pd.Timestamp.max.tz_localize("UTC")
    periods = [(pd.Timestamp.min.tz_localize("UTC"), bounds[0]), (bounds[0], bounds[1]), (bounds[1], last)]
    parts = []
    for lo, hi in periods:
        inside = (windows["start"] >= lo) & (windows["end"] < hi)
        parts.append(windows[inside].reset_index(drop=True))
    for name, part in zip(("train", "validation", "test"), parts):
        if part.empty:
            raise FintuneError(f"data.windows: the {name} period has no whole window; move the split dates")
    stats = {
        "n_train": len(parts[0]),
        "n_validation": len(parts[1]),
        "n_test": len(parts[2]),
        "dropped_across_boundaries": int(len(windows) - sum(len(p) for p in parts)),
        "periods": {
            name: [str(p["start"].min().date()), str(p["end"].max().date())]
            for name, p in zip(("train", "validation", "test"), parts)
        },
    }
    return parts[0], parts[1], parts[2], stats


def past_bars(bars: pd.DataFrame, window: pd.Series) -> pd.DataFrame:
    return bars.iloc[window["at"] - window["past"] : window["at"]]


def future_bars(bars: pd.DataFrame, window: pd.Series) -> pd.DataFrame:
    return bars.iloc[window["at"] : window["at"] + window["future"]]


@dataclass
class WindowSplits:
    bars: dict[str, pd.DataFrame]
    """Trading-day bars per ticker; windows point into them by position (`at`)."""
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    fields: list[str]
    stats: dict
    files: list[Path]
    news: pd.DataFrame | None = None
    """timestamp, asset, text of headlines shown in the prompts (data.windows.news)."""

    def fingerprints(self) -> dict[str, str]:
        return {str(p): file_sha256(p) for p in self.files}


def load_window_splits(cfg: DataConfig) -> WindowSplits:

    spec = cfg.windows or WindowsConfig()
    bars, frames, files = {}, [], []
    source = UserPrices(spec.prices, "data.windows.prices") if spec.prices else None
    if source is not None:
        source.check_assets(spec.tickers)
    for ticker in spec.tickers:
        found = (load_prices(path := price_file(ticker, "1d")), path) if source is None else source.bars(ticker)
        if found is None:
            raise FintuneError(f"data.windows.prices '{spec.prices}' has no bars for ticker '{ticker}'")
        daily, path = found
        bars[ticker] = trading_days(daily)
        files.append(path)
        frames.append(build_windows(bars[ticker], ticker, [tuple(p) for p in spec.pairs], spec.stride))
    windows = pd.concat(frames, ignore_index=True)
    news = load_news(spec.news, spec.tickers) if spec.news else None
    if news is not None:
        files += news.attrs.get("files", [])
    train, validation, test, stats = split_windows(windows, spec.validation_start, spec.test_start, spec.test_end)
    if cfg.max_train_samples:  # the most recent windows: closest in time to what is predicted
        train = train.sort_values("end", kind="stable").iloc[-cfg.max_train_samples :].reset_index(drop=True)
    if cfg.max_eval_samples:  # the first windows of every (past, future) pair, so each pair is still scored
        per_pair = -(-cfg.max_eval_samples // len(spec.pairs))
        validation, test = (part.groupby(["past", "future"]).head(per_pair) for part in (validation, test))
    stats["n_train"], stats["n_validation"], stats["n_test"] = len(train), len(validation), len(test)
    if source is not None and source.fallbacks:
        stats["prices_fallback"] = source.fallbacks
    return WindowSplits(bars, train, validation, test, FIELD_SETS[spec.fields], stats, files, news)


def load_news(source: str, tickers: list[str]) -> pd.DataFrame:
    """Headlines routed to tickers: StockNet tweets or a posts file (timestamp, text, asset)."""

    news = load_stocknet_tweets(tickers=tickers) if source == "stocknet" else load_posts_file(source)
    files = news.attrs.get("files", [])
    news = news[news["asset"].isin(tickers)][["timestamp", "asset", "text"]].reset_index(drop=True)
    news.attrs["files"] = files
    return news


def window_news(news: pd.DataFrame | None, ticker: str, past: pd.DataFrame, limit: int) -> pd.DataFrame | None:
    """The ticker's headlines from the window's first day to the end of its last past day, the latest `limit`."""
    if news is None:
        return None
    start, end = past.index[0], past.index[-1] + pd.Timedelta(days=1)
    mine = news[(news["asset"] == ticker) & (news["timestamp"] >= start) & (news["timestamp"] < end)]
    return mine.tail(limit)
