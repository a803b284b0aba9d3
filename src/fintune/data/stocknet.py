"""`data.source: stocknet-acl18`: StockNet's movement task (Xu & Cohen, ACL 2018), made comparable and leak-free.

The protocol: for stock s and trading day d, the tweets of the 5 trading days before d predict the
movement of d's adjusted close over d-1's; up if > 0.55 %, down if < -0.5 %, anything between dropped;
train targets 2014-01-01..2015-08-01, validation ..2015-10-01, test ..2016-01-01.

One deviation, for no look-ahead: the movement starts at d-1's close (16:00 New York), so only tweets
published before that close count (StockNet's day buckets also take the evening of d-1, after the
window has started). Each example is stamped at that close; tweets are joined newest first, so the
model's token budget keeps the latest ones, and repeated texts (retweets) are kept once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fintune.config import DataConfig
from fintune.data.dataset import LabeledSplits
from fintune.data.locate import locate
from fintune.data.posts import load_stocknet_tweets
from fintune.data.prices import load_prices
from fintune.data.time_splits import split_by_time

LABELS = ["down", "up"]
UP, DOWN = 0.0055, -0.005
LAG_DAYS = 5
VALIDATION_START, TEST_START, TEST_END = "2015-08-01", "2015-10-01", "2016-01-01"
FIRST_TARGET = "2014-01-01"


def load_stocknet_splits(cfg: DataConfig) -> LabeledSplits:
    tweets = load_stocknet_tweets()
    files = list(tweets.attrs["files"])
    frames, prices = [], {}
    for ticker, group in tweets.groupby("asset", sort=True):
        path = locate("stocknet-acl18", "stocknet/price_raw", f"{ticker}.csv")
        bars = load_prices(path)
        if len(bars) <= LAG_DAYS + 1:
            continue
        files.append(path)
        prices[ticker] = _close_bars(bars)
        frames.append(ticker_examples(ticker, group, bars))
    frame = pd.concat(frames, ignore_index=True).sort_values(["timestamp", "id"], kind="stable")
    frame = frame[frame["target_day"] >= pd.Timestamp(FIRST_TARGET)].reset_index(drop=True)
    utc = [pd.Timestamp(day, tz="UTC") for day in (VALIDATION_START, TEST_START, TEST_END)]
    # An embargo of one day: an example stamped the evening before a boundary is labelled after it.
    train, validation, test, stats = split_by_time(frame, utc[0], utc[1], pd.Timedelta("1D"), utc[2])
    stats["protocol"] = "StockNet ACL18: 5 trading days of tweets -> next movement, +0.55 % / -0.5 %, flat dropped"
    stats["n_examples"] = int(len(frame))
    # "The next close": 20 h after one close is before the next one whatever daylight saving does.
    stats["horizon"] = "20h"
    return LabeledSplits("stocknet-acl18", LABELS, train, validation, test, files, stats, prices)


def ticker_examples(ticker: str, tweets: pd.DataFrame, bars: pd.DataFrame) -> pd.DataFrame:
    """One example per trading day with tweets and a movement outside the dead zone."""
    days = bars.index.tz_localize(None).normalize()
    closes = _close_times(days)
    adj = bars["adj_close" if "adj_close" in bars.columns else "close"].to_numpy(dtype=float)
    # Session j holds the tweets published in [close j-1, close j): bucket = first close strictly after.
    bucket = closes.searchsorted(pd.DatetimeIndex(tweets["timestamp"]), side="right")
    sessions = _session_texts(tweets, bucket)
    rows = []
    for i in range(LAG_DAYS + 1, len(days)):
        texts = [t for j in range(i - 1, i - 1 - LAG_DAYS, -1) for t in sessions.get(j, [])]
        move = adj[i] / adj[i - 1] - 1
        if not texts or DOWN <= move <= UP:
            continue
        prev = adj[i - 1] / adj[i - 2] - 1
        rows.append(
            {
                "id": f"{ticker}@{days[i]:%Y-%m-%d}",
                "text": "\n".join(dict.fromkeys(texts)),
                "label": "up" if move > UP else "down",
                "timestamp": closes[i - 1] - pd.Timedelta(1, "us"),
                "asset": ticker,
                "target_day": days[i],
                "entry_time": closes[i - 1],
                "exit_time": closes[i],
                "forward_return": move,
                "momentum_label": "up" if prev > 0 else "down",
            }
        )
    return pd.DataFrame(rows)


def _session_texts(tweets: pd.DataFrame, bucket: np.ndarray) -> dict[int, list[str]]:
    """bucket -> texts, newest first."""
    order = np.argsort(-tweets["timestamp"].astype("int64").to_numpy(), kind="stable")
    out: dict[int, list[str]] = {}
    texts = tweets["text"].to_numpy()
    for k in order:
        out.setdefault(int(bucket[k]), []).append(texts[k])
    return out


def _close_times(days: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """16:00 New York on each day, in UTC (20:00 or 21:00 depending on daylight saving)."""
    local = (days + pd.Timedelta("16h")).tz_localize("America/New_York")
    return local.tz_convert("UTC")


def _close_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars re-indexed at the close, with `open` = adjusted close: the backtest trades close to close."""
    days = bars.index.tz_localize(None).normalize()
    adj = bars["adj_close" if "adj_close" in bars.columns else "close"]
    return pd.DataFrame({"open": adj.to_numpy(), "close": adj.to_numpy()}, index=_close_times(days))
